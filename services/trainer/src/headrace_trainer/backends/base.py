"""The workload backend interface: how the launcher reaches workloads, whatever runs them.

A workload is a *gang*: one or more replicas (processes, or pods) that start together or
not at all, each with its command, environment and resources. An ordinary pipeline step
is a gang of one replica; a distributed training job is a gang of its master and workers.
The caller (the job model, the launcher) computes each replica's environment; the backend
only picks where the gang's rendezvous lives (`WorkloadBackend.rendezvous`), so that the
local backend can hand out ``127.0.0.1`` and free ports while a Kubernetes backend hands
out a headless Service's DNS name.

Lifecycle of one gang attempt, as a backend reports it::

    start ──> every replica PENDING ──(resources reserved for the whole gang)──>
          every replica RUNNING ──> each replica SUCCEEDED (exit 0) or FAILED (other exit)

A gang that asks for more than the backend can ever give is refused at once
(`GangRefused`); one that fits later waits for its resources, holding none meanwhile.
`stop` ends every replica of a gang; `adopt` resumes following a gang that a previous
incarnation of the trainer started and that still runs (or whose exits are recorded),
instead of starting it again. Everything here is plain data: no Kubeflow YAML, no bus.

Ordinary pipeline steps take the same road: the launcher runs each execution of a step as
a gang of one replica (role ``step``), with the step's resources, whose records the backend
keeps in the folder the launcher gives (`Gang.records`: the ledger's execution folder), and
whose process a `Runner` starts (`start`'s ``runner``: the warm fork server, or a step
environment's, for a lightweight Python component; see `ReplicaLaunch.python`). Cancel and
timeout are `stop`; a step left by a dead trainer is `adopt`ed from those records.

How a Kubernetes backend fits, without the launcher changing:

* ``rendezvous``: the DNS name of a headless Service selecting the gang's pods
  (``<gang>.<namespace>.svc``), and the port(s) the caller puts in the pod template;
* ``refusal``: what no node pool can ever give (or None: the cluster schedules);
* ``start``: one Indexed ``batch/v1`` Job per role (completions = parallelism = replicas,
  the replica's ``index`` = ``JOB_COMPLETION_INDEX``), labelled with the gang id and
  attempt, resources as container requests and limits (GPUs as ``nvidia.com/gpu``); the
  pods are the gang; a ``runner`` is not used (the container's image runs the command, and
  a Python call becomes ``python -m kfp.dsl.executor_main`` on its source); ``records`` are
  not used (the Job and its labels are the record);
* ``events``: a watch on the gang's pods, their phases mapped onto `Phase` (a container
  terminated with reason ``OOMKilled``: `ReplicaState.oom_killed`);
* ``logs``: the pods' logs (``follow=True`` streams them);
* ``stop``: delete the Jobs with ``propagationPolicy=Foreground`` and ``grace`` as the pods'
  termination grace period;
* ``adopt`` / ``recorded``: list the Jobs by the gang-id label (``records`` is not used);
* ``remove``: delete the Jobs and the Service.
"""

from __future__ import annotations

import enum
import re
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal, Protocol

from ..errors import GangInvalid
from ..executor.runner import PythonCall, Runner

__all__ = [
    "Gang",
    "GangEvent",
    "GangHandle",
    "Phase",
    "PythonCall",
    "Rendezvous",
    "ReplicaLaunch",
    "ReplicaResources",
    "ReplicaState",
    "WorkloadBackend",
]

_ROLE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Phase(enum.StrEnum):
    """Where a replica is (Kubernetes' pod phases, less Unknown)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    @property
    def final(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED)


@dataclass(frozen=True)
class ReplicaResources:
    """What one replica needs (requests: admission) and may use at most (limits: enforced
    where the backend can). Zero or None: nothing in particular."""

    cpus: Decimal = Decimal(0)
    memory: int = 0  # bytes
    gpus: int = 0  # NVIDIA GPUs, distinct devices per replica
    cpu_limit: Decimal | None = None
    memory_limit: int | None = None  # bytes

    def __post_init__(self) -> None:
        for name in ("cpus", "memory", "gpus", "cpu_limit", "memory_limit"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise GangInvalid(f"replica resources: {name} is {value}; it must be >= 0")


@dataclass(frozen=True)
class ReplicaLaunch:
    """One replica of a gang: ``role`` (``master``, ``worker``; a DNS label) and ``index``
    (0, 1, ... within its role) name it; ``argv`` runs with ``env`` added to the backend's
    environment in ``cwd`` (None: a folder of the backend's choosing). ``python``, when
    given, runs instead of ``argv``: kfp's executor on a lightweight component's source, in
    the Python of the runner that starts it (``argv`` may then be empty). ``log_key`` is the
    artifact-store key its log is kept under while it runs and after ("": not stored)."""

    role: str
    index: int
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    resources: ReplicaResources = field(default_factory=ReplicaResources)
    log_key: str = ""
    python: PythonCall | None = None

    def __post_init__(self) -> None:
        if not _ROLE.match(self.role):
            raise GangInvalid(
                f"replica role {self.role!r} is not a DNS label: use lower-case letters, "
                "digits and '-' (e.g. 'master', 'worker')"
            )
        if self.index < 0:
            raise GangInvalid(f"replica {self.role} has index {self.index}; it must be >= 0")
        if self.python is None and (not self.argv or not self.argv[0]):
            raise GangInvalid(
                f"replica {self.name} has an empty command: give it argv (or a Python call)"
            )

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"


@dataclass(frozen=True)
class Gang:
    """Replicas that start together or not at all. ``id`` is unique per backend (the caller
    puts the namespace and job name in it); ``attempt`` counts whole-gang restarts, each a
    fresh start with fresh records. ``records``: a folder the caller gives for this
    attempt's records (the launcher's ledger folder of a step execution), for backends that
    keep records in files (the local one: ``gang.json`` there, and a one-replica gang's
    process records and log in that folder itself); None: the backend's own place.
    ``source``: what the gang runs, for a backend that builds its own objects from it (the
    Kubernetes backend: a `StepReady` or a `TrainingJobSpec`); the local backend ignores it.
    ``trace_context``: the W3C headers (``traceparent``, ``tracestate``) of the handling that
    launched the gang, for a backend that builds its own pods from ``source`` (whose
    environment then carries them as ``TRACEPARENT``); the local backend ignores it, its
    replicas' ``env`` already carries theirs."""

    id: str
    replicas: tuple[ReplicaLaunch, ...]
    attempt: int = 1
    records: Path | None = None
    source: object | None = field(default=None, compare=False)
    trace_context: Mapping[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.id:
            raise GangInvalid("a gang needs an id: the job's namespace and name, for example")
        if not self.replicas:
            raise GangInvalid(f"gang '{self.id}' has no replicas: give it at least one")
        if self.attempt < 1:
            raise GangInvalid(f"gang '{self.id}' has attempt {self.attempt}; it counts from 1")
        names = [replica.name for replica in self.replicas]
        doubled = sorted({name for name in names if names.count(name) > 1})
        if doubled:
            raise GangInvalid(
                f"gang '{self.id}' lists replica(s) {', '.join(doubled)} more than once: "
                "give each replica of a role its own index"
            )

    def replica(self, role: str, index: int) -> ReplicaLaunch | None:
        return next((r for r in self.replicas if r.role == role and r.index == index), None)


@dataclass(frozen=True)
class Rendezvous:
    """Where a gang's replicas meet: the master's address and the port(s) reserved for it."""

    host: str
    ports: tuple[int, ...]

    @property
    def port(self) -> int:
        return self.ports[0]


@dataclass(frozen=True)
class ReplicaState:
    """A replica as last seen. ``exit_code`` is ``-N`` when signal N ended it; ``host`` and
    ``pid`` say where it runs (a pod's node and no pid on Kubernetes); ``devices`` are the
    GPU ids it was given; ``reason`` says why it failed, when not its own exit;
    ``oom_killed``: it was killed for using more memory than its limit.
    ``limits_unenforced`` says why none of its limits is enforced, ``cpu_unenforced`` why
    its CPU limit is not (its memory limit is); both empty where they are."""

    role: str
    index: int
    phase: Phase = Phase.PENDING
    exit_code: int | None = None
    pid: int | None = None
    host: str = ""
    devices: tuple[str, ...] = ()
    started_at: float | None = None  # seconds since the epoch
    finished_at: float | None = None
    reason: str = ""
    oom_killed: bool = False
    limits_unenforced: str = ""
    cpu_unenforced: str = ""

    @property
    def name(self) -> str:
        return f"{self.role}-{self.index}"


@dataclass(frozen=True)
class GangEvent:
    """A replica's state changed: it ``started`` (RUNNING) or ``exited`` (final phase).
    ``adopted`` events are the states a backend found for a gang it adopted."""

    gang_id: str
    attempt: int
    kind: Literal["started", "exited", "adopted"]
    replica: ReplicaState


@dataclass(frozen=True)
class GangHandle:
    """A started (or adopted) gang: its id, attempt, rendezvous and the replicas' states
    when the handle was made (ask the backend for later ones)."""

    gang_id: str
    attempt: int
    replicas: tuple[ReplicaState, ...]
    adopted: bool = False


class WorkloadBackend(Protocol):
    """What the launcher needs of whatever runs workloads (local processes, Kubernetes)."""

    name: str

    async def rendezvous(self, gang_id: str, *, ports: int = 1) -> Rendezvous:
        """The master address and ``ports`` free ports for ``gang_id``, before it starts (the
        caller puts them in the replicas' environment); the same answer until the gang ends."""
        ...

    def refusal(self, gang: Gang) -> str | None:
        """Why ``gang`` can never run here (naming its request and what there is), else None."""
        ...

    async def start(self, gang: Gang, *, runner: Runner | None = None) -> GangHandle:
        """Start every replica of ``gang`` together, once resources for all are free.
        ``runner`` starts each replica's process, where the backend runs processes (the
        warm fork server for lightweight steps); None: the backend's own way.

        Raises `GangRefused` (see `refusal`) at once, `GangStopped` when `stop` came while it
        waited, `WorkloadError` when a replica cannot be started (none is left running)."""
        ...

    def events(self, gang_id: str) -> AsyncIterator[GangEvent]:
        """The gang's state changes from its start (or adoption), then live ones, ending once
        every replica is in a final phase."""
        ...

    def logs(
        self, gang_id: str, role: str, index: int, *, follow: bool = False
    ) -> AsyncIterator[str]:
        """The replica's log lines (without their line ends); with ``follow``, new lines as
        they are written, ending when the replica has ended and its log is read."""
        ...

    def states(self, gang_id: str) -> tuple[ReplicaState, ...]:
        """The replicas' current states; `UnknownGang` for a gang not started or adopted here."""
        ...

    async def wait(self, gang_id: str) -> tuple[ReplicaState, ...]:
        """The replicas' final states, once every replica has ended."""
        ...

    def stop(self, gang_id: str, *, grace: float = 10.0) -> Awaitable[tuple[ReplicaState, ...]]:
        """End every replica (SIGTERM, SIGKILL after ``grace`` s, at once when ``grace`` is
        0; or the pods' equivalent). The stop is asked for when this is called, before it is
        awaited (so a trainer on its way out still stops what it must); awaiting it returns
        once nothing of the gang runs. A waiting gang starts no replica."""
        ...

    async def adopt(self, gang_id: str, *, records: Path | None = None) -> GangHandle | None:
        """Resume following ``gang_id``'s latest attempt from the backend's records (after a
        trainer restart; ``records``: the folder given to its `Gang`); None when there is
        no record of it."""
        ...

    def recorded(self) -> list[str]:
        """The gang ids this backend has records of (to adopt after a restart)."""
        ...

    async def remove(self, gang_id: str) -> None:
        """Forget an ended gang and delete its records (its stored logs stay)."""
        ...
