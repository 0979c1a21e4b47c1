"""``ToTaskAction``: fill tasks with annotations from JSON files or a served model."""

from __future__ import annotations

from typing import Any, ClassVar

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions.to_task import inference
from synapse_sdk.plugins.actions.to_task._io import HookDownloads
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.ledger import Ledger, job_key
from synapse_sdk.plugins.actions.to_task.models import ToTaskMethod, ToTaskParams, ToTaskResult
from synapse_sdk.plugins.actions.to_task.processing import TaskFailed
from synapse_sdk.plugins.actions.to_task.steps import (
    AnnotateStep,
    FetchTasksStep,
    FinalizeStep,
    InitializeStep,
    PrepareStep,
)
from synapse_sdk.plugins.steps import StepRegistry


class ToTaskAction(BaseAction[ToTaskParams]):
    """Annotate a project's tasks; subclass and override the ``convert_data_*`` hooks for your format.

    The hooks run in worker threads (up to ``params.concurrency`` at once), so they must be
    thread-safe. They return the task data (a dict) to write.
    """

    action_name: ClassVar[str | None] = 'to_task'
    category: ClassVar[PluginCategory | None] = PluginCategory.PRE_ANNOTATION
    result_model = ToTaskResult
    _task_io: HookDownloads | None = None  #: the annotate pipeline's HTTP, while it runs

    # ------------------------------------------------------------------ hooks
    def convert_data_from_file(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_file_url: str,
        data_file_name: str | None,
        task_data: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Task data for a task from its annotation file; by default the file's JSON object as is."""
        return self.download_json(data_file_url)

    def convert_data_from_inference(
        self, inference_data: Any, task_data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Task data from a pre-processor's output; by default the output as is."""
        return inference_data

    def setup_inference_params(
        self,
        primary_file_url: str,
        primary_file_name: str | None,
        data_files: list[dict[str, Any]],
        *,
        model_id: int,
        pre_processor_params: dict[str, Any],
        pre_processor_config: dict[str, Any],
        task_data: dict[str, Any],
    ) -> dict[str, Any]:
        """The ``params`` of the inference request for one task."""
        return {
            'model': model_id,
            'method': 'post',
            'json': {
                'primary_file_url': primary_file_url,
                'primary_file_name': primary_file_name,
                'data_files': data_files,
                'params': pre_processor_params,
            },
        }

    # ------------------------------------------------------------------ helpers for hooks
    def download_json(self, url: str) -> dict[str, Any]:
        """The JSON object at ``url`` (auth headers are sent only to the backend's own host).

        During the annotate step it goes through the pipeline's HTTP session (safe from any worker thread).
        """
        io = self._task_io
        try:
            data = io.download_json_blocking(url) if io is not None else self.ctx.client.download_json(url)
        except Exception as exc:
            raise TaskFailed('Failed to download JSON from URL') from exc
        if not isinstance(data, dict):
            raise TaskFailed('Failed to download JSON from URL')
        return data

    # ------------------------------------------------------------------ workflow
    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """initialize → prepare → fetch_tasks → annotate_task_data → finalize."""
        method = self.params.method
        for step in (InitializeStep, PrepareStep, FetchTasksStep, AnnotateStep, FinalizeStep):
            registry.register(step(method))

    def create_context(self) -> ToTaskContext:
        """The shared :class:`ToTaskContext`."""
        return ToTaskContext(
            runtime_ctx=self.ctx,
            params=self.params.model_dump(by_alias=True),
            action=self,
            typed_params=self.params,
            client=self.ctx.client,
        )

    def build_result(self, context: ToTaskContext, outcome: dict[str, Any]) -> ToTaskResult:  # type: ignore[override]
        """The :class:`ToTaskResult` of the run."""
        total, failed, skipped = context.total_tasks, context.failed_count, context.skipped_count
        failed_all = total > 0 and failed == total
        message = f'to_task {"failed" if failed_all else "completed"}. success={context.success_count}, failed={failed}'
        if skipped:
            message += f', skipped={skipped}'
        return ToTaskResult(
            status='FAILED' if failed_all else 'SUCCEEDED',
            message=message,
            total_tasks=total,
            success_count=context.success_count,
            failed_count=failed,
            skipped_count=skipped,
            failures=context.failures,
        )

    # ------------------------------------------------------------------ used by the steps
    def uses_default_file_hook(self) -> bool:
        """Whether ``convert_data_from_file`` is the built-in one (then the pipeline downloads on its loop)."""
        cls = type(self)
        return (
            cls.convert_data_from_file is ToTaskAction.convert_data_from_file
            and cls.download_json is ToTaskAction.download_json
        )

    def job_key(self, context: ToTaskContext) -> str:
        """The resume ledger's key for this job."""
        p = self.params
        source: Any = p.target_specification_name if p.method is ToTaskMethod.FILE else [p.pre_processor, p.model]
        host = str(getattr(context.client, 'base_url', ''))
        return job_key(host, p.project, p.task_filters, p.method.value, source, p.pre_processor_params, p.schema_name)

    def previous_failures(self, context: ToTaskContext) -> list[int]:
        """Ids the previous run of this job failed (for ``retry_failed``)."""
        ledger = Ledger.for_key(self.job_key(context))
        context.ledger = ledger
        return list(ledger.state.failed)

    def prepare_inference(self, context: ToTaskContext) -> dict[str, Any]:
        """Make sure the pre-processor serves; returns ``{code, version, config, max_batch_size, batch_size}``."""
        info = inference.prepare(self, context)
        self._inference_info = info
        return info

    def annotate_from_inference(
        self, task: dict[str, Any], files: list[dict[str, Any]], primary: dict[str, Any]
    ) -> dict[str, Any]:
        """Task data for one task from the pre-processor."""
        return inference.annotate(self, task, files, primary)
