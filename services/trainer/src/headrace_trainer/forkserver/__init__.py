"""The warm fork server (`server`, run as ``python -m headrace_trainer.forkserver``) and the
trainer's side of it (`client`: `ForkServer`, `ForkServerRunner`)."""
