"""The Headrace message catalogue: every event, command and query, declared once.

Services import messages from here and nowhere else. ``CATALOGUE`` indexes them by
CloudEvents type and subject; :mod:`headrace_contracts.cloudevents` puts them on the wire.
"""

from . import (
    artifacts,
    environments,
    lineage,
    model_views,
    registry,
    retention,
    run_views,
    runs,
    serving,
    steps,
    system,
    training,
    training_views,
    tuning,
)
from .artifacts import ArtifactList, ArtifactRecord, ArtifactWritten, ListArtifacts, MetricReported
from .base import Command, Event, Message, Query, Reply
from .catalogue import Catalogue
from .cloudevents import Envelope, decode, derive_event_id, encode, new_event_id
from .common import ArtifactRef, Resources
from .environments import (
    EnvironmentList,
    EnvironmentsPruned,
    EnvironmentView,
    ListEnvironments,
    PruneEnvironments,
)
from .errors import ContractError, InvalidCloudEvent, InvalidMessageData, UnknownMessageType
from .lineage import GetLineage, LineageEdge, LineageGraph, LineageNode
from .model_views import (
    GetModel,
    ListModels,
    ListModelVersions,
    ModelDetail,
    ModelList,
    ModelVersionList,
    ModelVersionView,
    RegisteredModelView,
    ResolvedModel,
    ResolveModel,
)
from .registry import (
    ArchiveModelVersion,
    ArchiveRejected,
    ModelPromoted,
    ModelVersionArchived,
    ModelVersionRegistered,
    PromoteModel,
    PromotionRejected,
    RegisterModel,
    RegistrationRejected,
)
from .retention import PruneReport, PruneRuns
from .run_views import (
    GetRun,
    ListRuns,
    RunDetail,
    RunExperiment,
    RunExperimentList,
    RunList,
    RunView,
    StepView,
)
from .runs import (
    CancelRun,
    RunCancelled,
    RunFailed,
    RunRejected,
    RunStarted,
    RunSucceeded,
    SubmitRun,
)
from .serving import (
    ApplyInferenceService,
    DeleteInferenceService,
    InferenceServiceDeleted,
    InferenceServiceFailed,
    InferenceServiceReady,
    InferenceServiceScaled,
    ShiftTraffic,
    TrafficShifted,
)
from .steps import (
    CancelStep,
    StepCached,
    StepCancelled,
    StepFailed,
    StepInputs,
    StepOutputSpec,
    StepReady,
    StepSkipped,
    StepStarted,
    StepSucceeded,
)
from .system import Ping, Pong
from .training import (
    CancelTrainingJob,
    JobCondition,
    ReplicaStatus,
    ResumeTrainingJob,
    SubmitTrainingJob,
    SuspendTrainingJob,
    TrainingJobCancelled,
    TrainingJobCreated,
    TrainingJobFailed,
    TrainingJobRestarting,
    TrainingJobResumed,
    TrainingJobRunning,
    TrainingJobStarted,
    TrainingJobSucceeded,
    TrainingJobSuspended,
)
from .training_views import (
    GetTrainingJob,
    ListTrainingJobs,
    ReplicaView,
    TrainingJobDetail,
    TrainingJobList,
    TrainingJobView,
)
from .tuning import (
    CreateExperiment,
    ExperimentFailed,
    ExperimentStarted,
    ExperimentStopped,
    ExperimentSucceeded,
    StopExperiment,
    TrialCreated,
    TrialEarlyStopped,
    TrialFailed,
    TrialStarted,
    TrialSucceeded,
)


def _collect() -> Catalogue:
    modules = (
        runs,
        run_views,
        steps,
        artifacts,
        training,
        training_views,
        tuning,
        registry,
        model_views,
        serving,
        system,
        environments,
        lineage,
        retention,
    )
    found: list[type[Message]] = []
    for module in modules:
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Message)
                and value.__module__ == module.__name__
                and value.AREA
            ):
                found.append(value)
    return Catalogue(found)


CATALOGUE = _collect()
"""Every message type of the platform (immutable)."""

__all__ = [
    "CATALOGUE",
    "ApplyInferenceService",
    "ArchiveModelVersion",
    "ArchiveRejected",
    "ArtifactList",
    "ArtifactRecord",
    "ArtifactRef",
    "ArtifactWritten",
    "CancelRun",
    "CancelStep",
    "CancelTrainingJob",
    "Catalogue",
    "Command",
    "ContractError",
    "CreateExperiment",
    "DeleteInferenceService",
    "Envelope",
    "EnvironmentList",
    "EnvironmentView",
    "EnvironmentsPruned",
    "Event",
    "ExperimentFailed",
    "ExperimentStarted",
    "ExperimentStopped",
    "ExperimentSucceeded",
    "GetLineage",
    "GetModel",
    "GetRun",
    "GetTrainingJob",
    "InferenceServiceDeleted",
    "InferenceServiceFailed",
    "InferenceServiceReady",
    "InferenceServiceScaled",
    "InvalidCloudEvent",
    "InvalidMessageData",
    "JobCondition",
    "LineageEdge",
    "LineageGraph",
    "LineageNode",
    "ListArtifacts",
    "ListEnvironments",
    "ListModelVersions",
    "ListModels",
    "ListRuns",
    "ListTrainingJobs",
    "Message",
    "MetricReported",
    "ModelDetail",
    "ModelList",
    "ModelPromoted",
    "ModelVersionArchived",
    "ModelVersionList",
    "ModelVersionRegistered",
    "ModelVersionView",
    "Ping",
    "Pong",
    "PromoteModel",
    "PromotionRejected",
    "PruneEnvironments",
    "PruneReport",
    "PruneRuns",
    "Query",
    "RegisterModel",
    "RegisteredModelView",
    "RegistrationRejected",
    "ReplicaStatus",
    "ReplicaView",
    "Reply",
    "ResolveModel",
    "ResolvedModel",
    "Resources",
    "ResumeTrainingJob",
    "RunCancelled",
    "RunDetail",
    "RunExperiment",
    "RunExperimentList",
    "RunFailed",
    "RunList",
    "RunRejected",
    "RunStarted",
    "RunSucceeded",
    "RunView",
    "ShiftTraffic",
    "StepCached",
    "StepCancelled",
    "StepFailed",
    "StepInputs",
    "StepOutputSpec",
    "StepReady",
    "StepSkipped",
    "StepStarted",
    "StepSucceeded",
    "StepView",
    "StopExperiment",
    "SubmitRun",
    "SubmitTrainingJob",
    "SuspendTrainingJob",
    "TrafficShifted",
    "TrainingJobCancelled",
    "TrainingJobCreated",
    "TrainingJobDetail",
    "TrainingJobFailed",
    "TrainingJobList",
    "TrainingJobRestarting",
    "TrainingJobResumed",
    "TrainingJobRunning",
    "TrainingJobStarted",
    "TrainingJobSucceeded",
    "TrainingJobSuspended",
    "TrainingJobView",
    "TrialCreated",
    "TrialEarlyStopped",
    "TrialFailed",
    "TrialStarted",
    "TrialSucceeded",
    "UnknownMessageType",
    "decode",
    "derive_event_id",
    "encode",
    "new_event_id",
]
