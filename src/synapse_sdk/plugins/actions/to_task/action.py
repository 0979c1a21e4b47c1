"""``ToTaskAction``: fill tasks with annotations from JSON files or a served model."""

from __future__ import annotations

import hashlib
import inspect
from pathlib import Path
from typing import Any, ClassVar

from synapse_sdk.enums import JobStatus, PluginCategory
from synapse_sdk.exceptions import ClientError
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions.to_task.context import ToTaskContext
from synapse_sdk.plugins.actions.to_task.files import download_failure, parse_annotation, url_name
from synapse_sdk.plugins.actions.to_task.io import download_via_client, hook_download, hook_file_name
from synapse_sdk.plugins.actions.to_task.models import ToTaskParams, ToTaskResult
from synapse_sdk.plugins.actions.to_task.steps import (
    AnnotateStep,
    FetchTasksStep,
    FinalizeStep,
    InitializeStep,
    PrepareStep,
    backend_identity,
    ledger_key,
)
from synapse_sdk.plugins.context import BackendClientProtocol
from synapse_sdk.plugins.steps import StepRegistry

#: what a plugin overrides; their source is part of the resume ledger's job key
HOOKS = ('convert_data_from_file', 'convert_data_from_inference', 'setup_inference_params', 'download_json')
CONFIG_SEARCH_DEPTH = 3  #: folders above a hook's module searched for the plugin's config.yaml


class ToTaskAction(BaseAction[ToTaskParams]):
    """Annotate a project's tasks; subclass and override the ``convert_data_*`` hooks for your format.

    The hooks run in worker threads (up to ``params.concurrency`` at once), so they must be
    thread-safe. They return the task data (a dict) to write.
    """

    action_name: ClassVar[str | None] = 'to_task'
    category: ClassVar[PluginCategory | None] = PluginCategory.PRE_ANNOTATION
    result_model = ToTaskResult

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

        From a hook during the annotate step it goes through the run's HTTP session (safe from any
        worker thread); files over ``max_annotation_file_mb`` fail the task. Errors name the true cause:
        ``Failed to download JSON from URL (<reason>)`` or ``Invalid JSON format in annotation file (...)``.
        """
        limit = self.params.max_annotation_bytes
        name = hook_file_name(url) or url_name(url)
        try:
            raw = hook_download(url, limit)
            if raw is None:  # not in a hook of a running pipeline
                raw = download_via_client(self.ctx.client, url, limit)
        except ClientError as exc:
            raise download_failure(exc, name, limit) from exc
        return parse_annotation(raw, name)

    # ------------------------------------------------------------------ workflow
    def execute(self) -> ToTaskResult:
        """The step workflow (``run()`` runs it; this is the same, for callers that call ``execute``)."""
        return self.run()

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
            typed_params=self.params,
            client=self.ctx.client,
            hooks=self,
            inline_hooks=built_in_hooks(type(self)),
            plugin=plugin_identity(type(self)),
        )

    @classmethod
    def ledger_key(cls, params: ToTaskParams | dict[str, Any], client: BackendClientProtocol) -> str:
        """The key of the resume ledger a run of this action with ``params`` against ``client``'s backend uses.

        The ledger is ``<state dir>/to_task/<key>.jsonl``; deleting it makes the next run start afresh.
        """
        typed = params if isinstance(params, ToTaskParams) else ToTaskParams.model_validate(params)
        return ledger_key(typed, backend_identity(client), plugin_identity(cls))

    def build_result(self, context: ToTaskContext, outcome: dict[str, Any]) -> ToTaskResult:  # type: ignore[override]
        """The :class:`ToTaskResult` of the run."""
        total, failed, skipped = context.total_tasks, context.failed_count, context.skipped_count
        failed_all = total > 0 and failed == total
        verb = 'failed' if failed_all else 'dry run completed' if self.params.dry_run else 'completed'
        message = f'to_task {verb}. success={context.success_count}, failed={failed}'
        if skipped:
            message += f', skipped={skipped}'
        return ToTaskResult(
            status=JobStatus.FAILED if failed_all else JobStatus.SUCCEEDED,
            message=message,
            total_tasks=total,
            success_count=context.success_count,
            failed_count=failed,
            skipped_count=skipped,
            failures=context.failures,
            dry_run=bool(self.params.dry_run),
            run_id=context.run_id,
            summary=context.summary,
        )


def built_in_hooks(cls: type[ToTaskAction]) -> frozenset[str]:
    """The hooks ``cls`` did not override (the pipeline runs those inline instead of on a worker thread)."""
    return frozenset(name for name in HOOKS if getattr(cls, name) is getattr(ToTaskAction, name))


def plugin_identity(cls: type[ToTaskAction]) -> dict[str, Any]:
    """Which plugin code annotates: its class, the plugin's ``code@version`` and a digest of its hooks' source.

    The source of every module that defines an overridden hook is hashed, so a fixed hook makes a new job
    (whose ledger has not seen the tasks) instead of silently skipping everything. ``code`` and
    ``version`` come from the first ``config.yaml`` found beside or above that module.
    """
    files = sorted({f for name in HOOKS if (f := _defining_file(cls, name)) is not None})
    digest = hashlib.sha256()
    for file in files:
        try:
            digest.update(file.read_bytes())
        except OSError:
            digest.update(str(file).encode())
    code, version = _plugin_config(files)
    return {
        'class': f'{cls.__module__}.{cls.__qualname__}',
        'code': code,
        'version': version,
        'hooks': digest.hexdigest() if files else None,
    }


def _defining_file(cls: type[ToTaskAction], name: str) -> Path | None:
    """The source file of the hook ``name`` as ``cls`` has it (None: the built-in one, or no file)."""
    owner = next((c for c in cls.__mro__ if name in vars(c)), None)
    if owner is None or owner is ToTaskAction:
        return None
    code = getattr(inspect.unwrap(getattr(cls, name)), '__code__', None)
    path = Path(code.co_filename) if code is not None else None
    return path.resolve() if path is not None and path.is_file() else None


def _plugin_config(files: list[Path]) -> tuple[str | None, str | None]:
    for file in files:
        folder = file.parent
        for _ in range(CONFIG_SEARCH_DEPTH):
            config = folder / 'config.yaml'
            if config.is_file():
                return _code_and_version(config)
            if folder.parent == folder:
                break
            folder = folder.parent
    return None, None


def _code_and_version(config: Path) -> tuple[str | None, str | None]:
    import yaml

    try:
        data = yaml.safe_load(config.read_text(encoding='utf-8'))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    code, version = data.get('code'), data.get('version')
    return (str(code) if code else None), (str(version) if version else None)
