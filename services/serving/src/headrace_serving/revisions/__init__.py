"""Revisions of an InferenceService: names, the digest deciding when a new one is made, the
rollout between the stable and the canary revision (pure, no I/O), and, at run time, a
revision's model-server replicas as local processes (``revision``, ``replica``, ``process``)."""

from .naming import predictor_digest, revision_name, revision_plan
from .rollout import Outcome, Rollout

__all__ = ["Outcome", "Rollout", "predictor_digest", "revision_name", "revision_plan"]
