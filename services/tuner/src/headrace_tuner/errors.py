"""What goes wrong in the tuner.

::

    TunerError                 root; ``retryable`` says whether trying again may help
    └── SearchError            an experiment the search layer cannot run (an algorithm
                               setting or a space Optuna cannot sample); never retryable
"""

from __future__ import annotations


class TunerError(Exception):
    retryable = False


class SearchError(TunerError):
    """The experiment asks for a search this tuner cannot do; the message names the fix."""
