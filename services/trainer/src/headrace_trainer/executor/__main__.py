"""``python -m headrace_trainer.executor STEP.json --out OUTCOME.json``."""

from .cli import main

raise SystemExit(main())
