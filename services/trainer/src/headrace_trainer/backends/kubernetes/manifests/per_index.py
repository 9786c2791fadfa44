"""One pod template for every index of an Indexed Job: the environment that differs by index.

`distributed_env` gives each replica its variables; an Indexed Job has one template for all
its pods, which Kubernetes tells apart by ``JOB_COMPLETION_INDEX``. So, per variable:

* the same for every index: a literal value;
* the index itself (``RANK`` of a Worker-only job, a TrainJob's ``PET_NODE_RANK``): read
  from the pod's completion-index annotation through the downward API;
* anything else (a Worker's ``RANK`` = index + 1 beside a Master, ``TF_CONFIG``'s task
  index): exported by a ``/bin/sh`` wrapper that picks the index's values and then
  ``exec``s the replica's own command, so the variables still win over the container's.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from kubernetes.client import V1EnvVar, V1EnvVarSource, V1ObjectFieldSelector

__all__ = ["INDEX_ANNOTATION", "IndexedEnv", "split_env", "wrap_command"]

INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"
_INDEX_FIELD = f"metadata.annotations['{INDEX_ANNOTATION}']"


@dataclass(frozen=True)
class IndexedEnv:
    """``env``: the template's variables; ``by_index``: what the wrapper exports, per index
    (empty when no wrapper is needed)."""

    env: list[V1EnvVar]
    by_index: list[dict[str, str]]


def split_env(per_index: Sequence[dict[str, str]]) -> IndexedEnv:
    """``per_index[i]``: replica ``i``'s variables (every index has the same names)."""
    names = list(per_index[0])
    env: list[V1EnvVar] = []
    varying: list[str] = []
    for name in names:
        values = [env_of[name] for env_of in per_index]
        if len(set(values)) == 1:
            env.append(V1EnvVar(name=name, value=values[0]))
        elif values == [str(i) for i in range(len(values))]:
            source = V1EnvVarSource(field_ref=V1ObjectFieldSelector(field_path=_INDEX_FIELD))
            env.append(V1EnvVar(name=name, value_from=source))
        else:
            varying.append(name)
    by_index = [{name: env_of[name] for name in varying} for env_of in per_index] if varying else []
    return IndexedEnv(env=env, by_index=by_index)


def wrap_command(argv: Sequence[str], by_index: Sequence[dict[str, str]]) -> list[str]:
    """``/bin/sh -c SCRIPT headrace-replica ARGV...``: exports index ``i``'s variables when
    ``JOB_COMPLETION_INDEX`` is ``i``, then runs ``argv``."""
    cases = []
    for index, variables in enumerate(by_index):
        exports = " ".join(f"{name}={shlex.quote(value)}" for name, value in variables.items())
        cases.append(f"  {index}) export {exports} ;;")
    script = "\n".join(
        [
            'case "$JOB_COMPLETION_INDEX" in',
            *cases,
            '  *) echo "headrace: no replica of index $JOB_COMPLETION_INDEX" >&2; exit 1 ;;',
            "esac",
            'exec "$@"',
        ]
    )
    return ["/bin/sh", "-c", script, "headrace-replica", *argv]
