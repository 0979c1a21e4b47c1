"""Shared string enums (stdlib only).

Every enum is a :class:`~enum.StrEnum`, so the documented string values keep working:
``PluginCategory('neural_net') == 'neural_net'``. Convert strings once where they enter.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    'AnnotationCategory',
    'AnnotationTool',
    'AnnotationType',
    'DataType',
    'ExecutionMode',
    'JobStatus',
    'LogLevel',
    'PackageManager',
    'PluginCategory',
    'RunMethod',
    'ServeAppStatus',
    'SmartToolType',
]


class PluginCategory(StrEnum):
    """What a plugin is for."""

    NEURAL_NET = 'neural_net'  #: training, inference, deployment
    EXPORT = 'export'  #: data export and format conversion
    UPLOAD = 'upload'  #: file upload and validation
    SMART_TOOL = 'smart_tool'  #: AI-assisted annotation tools
    POST_ANNOTATION = 'post_annotation'  #: annotation post-processing
    PRE_ANNOTATION = 'pre_annotation'  #: annotation pre-processing (ToTask)
    DATA_VALIDATION = 'data_validation'  #: data quality checks
    CUSTOM = 'custom'  #: anything else


class RunMethod(StrEnum):
    """How an action is meant to run (``method`` in config.yaml)."""

    JOB = 'job'  #: Ray Jobs: isolated, asynchronous, long-running
    TASK = 'task'  #: Ray actor: fast start, synchronous
    SERVE = 'serve'  #: Ray Serve: an HTTP endpoint
    RESTAPI = 'restapi'  #: a REST call handled by the agent
    LOCAL = 'local'  #: in-process (accepted as seed 002 uses it)


class ExecutionMode(StrEnum):
    """Where ``run_plugin`` runs an action."""

    LOCAL = 'local'  #: in this process
    TASK = 'task'  #: on a persistent Ray actor; returns the result
    JOB = 'job'  #: as a Ray job; returns the job id


class PackageManager(StrEnum):
    """Which installer builds a plugin's runtime environment."""

    PIP = 'pip'
    UV = 'uv'


class DataType(StrEnum):
    """The media a plugin works on (``data_type`` in config.yaml)."""

    IMAGE = 'image'
    TEXT = 'text'
    VIDEO = 'video'
    PCD = 'pcd'
    AUDIO = 'audio'
    DATA = 'data'


class AnnotationCategory(StrEnum):
    """The annotation surface a smart tool or export targets."""

    IMAGE = 'image'
    VIDEO = 'video'
    AUDIO = 'audio'
    TEXT = 'text'
    PCD = 'pcd'
    PROMPT = 'prompt'
    TIME_SERIES = 'time_series'


class AnnotationType(StrEnum):
    """The geometry a smart tool produces."""

    BBOX = 'bbox'
    POLYGON = 'polygon'
    POINT = 'point'
    LINE = 'line'
    MASK = 'mask'
    LABEL = 'label'


class SmartToolType(StrEnum):
    """How a smart tool interacts with the annotator."""

    INTERACTIVE = 'interactive'
    AUTOMATIC = 'automatic'
    SEMI_AUTOMATIC = 'semi_automatic'


class AnnotationTool(StrEnum):
    """Annotation tools of the platform's editor."""

    BOUNDING_BOX = 'bounding_box'
    POLYGON = 'polygon'
    POLYLINE = 'polyline'
    KEYPOINT = 'keypoint'
    SEGMENTATION = 'segmentation'
    RELATION = 'relation'
    CLASSIFICATION = 'classification'
    ANNOTATION_GROUP = 'annotationGroup'
    NAMED_ENTITY = 'named_entity'
    PROMPT = 'prompt'
    ANSWER = 'answer'
    TIME_RANGE = 'time_range'
    BOUNDING_BOX_3D = '3d_bounding_box'
    SEGMENTATION_3D = '3d_segmentation'
    POLYGON_3D = '3d_polygon'


class LogLevel(StrEnum):
    """Level of a user-facing message; ``'danger'`` is accepted as ``error``."""

    DEBUG = 'debug'
    INFO = 'info'
    SUCCESS = 'success'
    WARNING = 'warning'
    ERROR = 'error'
    CRITICAL = 'critical'

    @classmethod
    def _missing_(cls, value: object) -> LogLevel | None:
        if isinstance(value, str):
            lowered = value.lower()
            if lowered == 'danger':
                return cls.ERROR
            if lowered == 'warn':
                return cls.WARNING
            for member in cls:
                if member.value == lowered:
                    return member
        return None


class JobStatus(StrEnum):
    """Status of a job, as Ray's Jobs API and the backend report it."""

    PENDING = 'PENDING'  #: accepted, not started
    RUNNING = 'RUNNING'  #: started
    SUCCEEDED = 'SUCCEEDED'  #: terminal: finished without error
    FAILED = 'FAILED'  #: terminal: raised or exited non-zero
    STOPPED = 'STOPPED'  #: terminal: stopped on request

    def is_terminal(self) -> bool:
        """Whether the job will not change status again."""
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.STOPPED)


class ServeAppStatus(StrEnum):
    """Status of a Ray Serve application (the platform's 7 values)."""

    NOT_STARTED = 'NOT_STARTED'  #: not deployed yet
    DEPLOYING = 'DEPLOYING'  #: replicas starting
    RUNNING = 'RUNNING'  #: ready for requests
    UNHEALTHY = 'UNHEALTHY'  #: failed: replicas failing health checks
    DEPLOY_FAILED = 'DEPLOY_FAILED'  #: failed: the deployment did not come up
    UNAVAILABLE = 'UNAVAILABLE'  #: failed: the application cannot be reached (e.g. its cluster is gone)
    DELETING = 'DELETING'  #: being removed

    def is_failure(self) -> bool:
        """Whether the application failed (terminal for a caller waiting for it to be ready)."""
        return self in (ServeAppStatus.DEPLOY_FAILED, ServeAppStatus.UNHEALTHY, ServeAppStatus.UNAVAILABLE)

    def is_terminal(self) -> bool:
        """Whether polling for readiness should stop: it is ready, or it failed."""
        return self is ServeAppStatus.RUNNING or self.is_failure()
