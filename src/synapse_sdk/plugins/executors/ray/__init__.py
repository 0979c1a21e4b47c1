"""Ray executors: task mode (a persistent actor) and job mode (the Ray Jobs API).

Importing this package does not import Ray; the executors load it on first use.
"""

from synapse_sdk.plugins.executors.ray._runner import run, shutdown_task_executors
from synapse_sdk.plugins.executors.ray.actor import RayActorExecutor, RayTaskExecutor
from synapse_sdk.plugins.executors.ray.job import RayJobExecutor
from synapse_sdk.plugins.executors.ray.pipeline import RayPipelineExecutor

__all__ = [
    'RayActorExecutor',
    'RayJobExecutor',
    'RayPipelineExecutor',
    'RayTaskExecutor',
    'run',
    'shutdown_task_executors',
]
