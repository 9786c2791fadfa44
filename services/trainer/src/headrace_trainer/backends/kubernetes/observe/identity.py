"""Which replica of which gang a Pod is, from the labels the manifests put on it.

* a pipeline step's pod (``headrace.io/run`` and ``headrace.io/step``): gang
  ``<run>/<step>`` (the exact ids from the ``headrace.io/run-id`` / ``step-id`` annotations
  when present), role ``step``, index 0;
* a training job's pod (``headrace.io/job``, ``headrace.io/replica``): gang
  ``<job>``, role = the replica label, index = the Indexed Job's completion index (the
  ``batch.kubernetes.io/job-completion-index`` annotation, 0 if absent);

both with the attempt from ``headrace.io/attempt`` (1 if absent). Any other pod is not
Headrace's: None. The observer takes another function where the launcher names gangs
otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..manifests.meta import (
    ANNOTATION_RUN,
    ANNOTATION_STEP,
    LABEL_ATTEMPT,
    LABEL_JOB,
    LABEL_REPLICA,
    LABEL_RUN,
    LABEL_STEP,
)
from ..manifests.per_index import INDEX_ANNOTATION
from .pods import PodObservation

__all__ = ["Identify", "ReplicaKey", "headrace_identity"]


@dataclass(frozen=True)
class ReplicaKey:
    gang_id: str
    attempt: int
    role: str
    index: int


Identify = Callable[[PodObservation], "ReplicaKey | None"]


def _int(text: str | None, default: int) -> int:
    try:
        return int(text) if text else default
    except ValueError:
        return default


def headrace_identity(pod: PodObservation) -> ReplicaKey | None:
    """The replica ``pod`` is (see the module docstring), or None for a foreign pod."""
    labels, notes = pod.labels, pod.annotations
    attempt = _int(labels.get(LABEL_ATTEMPT), 1)
    if LABEL_RUN in labels and LABEL_STEP in labels:
        run = notes.get(ANNOTATION_RUN) or labels[LABEL_RUN]
        step = notes.get(ANNOTATION_STEP) or labels[LABEL_STEP]
        return ReplicaKey(f"{run}/{step}", attempt, "step", 0)
    if LABEL_JOB in labels and LABEL_REPLICA in labels:
        index = _int(notes.get(INDEX_ANNOTATION), 0)
        return ReplicaKey(labels[LABEL_JOB], attempt, labels[LABEL_REPLICA], index)
    return None
