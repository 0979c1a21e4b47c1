"""``BaseExportAction``: export annotated data (tasks, assignments or ground truths) into a dataset folder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, Field

from synapse_sdk.enums import PluginCategory
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions.export.items import TARGETS, ExportItem, Target, export_items
from synapse_sdk.plugins.actions.export.report import ExportReport
from synapse_sdk.plugins.steps import BaseStepContext

__all__ = ['BaseExportAction', 'ExportContext', 'ExportParams', 'ExportProgress']

P = TypeVar('P', bound=BaseModel)


class ExportProgress:
    """Standard progress categories of exports."""

    DATASET_CONVERSION = 'dataset_conversion'
    EXPORT = 'export'


class ExportParams(BaseModel):
    """The standard params of an export (a plugin may declare its own; :meth:`BaseExportAction.execute` reads these)."""

    target: Target = 'assignment'
    filter: dict[str, Any] = Field(default_factory=dict)
    output_format: str = 'coco'
    path: str = Field(min_length=1, description='output folder of the dataset (and its export report)')
    overwrite: bool = False
    resume: bool = True
    concurrency: int = Field(default=8, ge=1, le=64, description='media downloads in flight at once')


@dataclass
class ExportContext(BaseStepContext):
    """Shared state of a step-based export."""

    results: Any = None
    count: int = 0
    exported: list[Any] = field(default_factory=list)


class BaseExportAction(BaseAction[P], Generic[P]):
    """Base of export actions.

    :meth:`get_filtered_results` lists what to export from the backend (``target``: ``task``,
    ``assignment`` or ``ground_truth``); :meth:`export` turns any listing into a COCO / YOLO / VOC / DM
    folder with a per-item report, resuming a stopped export. Override either for another source.
    """

    category: ClassVar[PluginCategory | None] = PluginCategory.EXPORT
    progress = ExportProgress()
    #: what :meth:`get_filtered_results` lists when neither the filters nor the params name a target
    target: ClassVar[str] = 'assignment'

    def create_context(self) -> ExportContext:
        """An :class:`ExportContext` for step workflows."""
        return ExportContext(runtime_ctx=self.ctx, params=self.params.model_dump())

    def _target(self, filters: Mapping[str, Any]) -> str:
        target = str(filters.get('target') or getattr(self.params, 'target', None) or self.target)
        if target not in TARGETS:
            raise ValueError(f"target: unknown export target '{target}'; use one of {', '.join(TARGETS)}")
        return target

    def _backend(self) -> Any:
        if self.client is None:
            raise RuntimeError(
                f'{type(self).__name__}: no backend client in this run (set SYNAPSE_HOST and SYNAPSE_ACCESS_TOKEN, '
                'or `synapse login`), or override get_filtered_results(filters) to read another source'
            )
        return self.client

    def get_filtered_results(self, filters: dict[str, Any]) -> tuple[Any, int]:
        """``(items, count)`` matching ``filters``: a lazy iterator of the backend's records and the server's count.

        ``filters['target']`` (or the params' ``target``, else :attr:`target`) picks the source:
        ``task`` (``sdk/tasks/`` with data units inlined), ``assignment`` (``sdk/assignments/``) or
        ``ground_truth`` (``sdk/ground_truth_events/``; ``ground_truth_dataset_version`` required).
        """
        client = self._backend()
        target = self._target(filters)
        query = {key: value for key, value in filters.items() if key != 'target'}
        if target == 'assignment':
            return client.get_assignments(query)
        if target == 'task':
            return client.list_tasks({**query, 'expand': 'data_unit'}, list_all=True)
        version = query.pop('ground_truth_dataset_version', None) or query.pop('ground_truth_dataset_versions', None)
        if version is None:
            raise ValueError(
                "filter: a ground_truth export needs 'ground_truth_dataset_version' (the dataset version id)"
            )
        return client.datasets.list_items(int(version), query, list_all=True)

    def export(
        self,
        results: Iterable[Any],
        count: int,
        *,
        path: str | Path,
        output_format: str = 'coco',
        target: str | None = None,
        filters: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        resume: bool = True,
        options: Mapping[str, Any] | None = None,
        concurrency: int = 8,
    ) -> ExportReport:
        """Export ``results`` (records of ``target``, or :class:`ExportItem`) into ``path`` as ``output_format``.

        ``coco``, ``yolo``, ``voc`` (``pascal``), ``dm`` (``dm_v2``) or ``dm_v1``; ``options`` go to the
        converter (``class_names``, ``yolo_task`` ...). Writes ``export_report.json`` / ``.csv`` into
        ``path``. Media are downloaded ``concurrency`` at a time. With ``resume`` (default) items staged by a
        stopped run of the same export are not fetched again;
        :class:`~synapse_sdk.plugins.actions.export.exporter.ExportInterrupted` says so.
        """
        from synapse_sdk.plugins.actions.export.exporter import ExportSettings, output_format_id, run_export
        from synapse_sdk.plugins.actions.export.ledger import ExportLedger, export_key

        fmt = output_format_id(output_format)
        kind = self._target(filters or {}) if target is None else self._target({'target': target})
        client = self._backend()
        identity = client.backend_identity() if hasattr(client, 'backend_identity') else str(client.base_url)
        key = export_key(identity, kind, dict(filters or {}), fmt, str(path))
        ledger = ExportLedger.for_key(key)
        if not resume:
            ledger.path.unlink(missing_ok=True)
            ledger = ExportLedger.for_key(key)
        items = (
            result if isinstance(result, ExportItem) else next(iter(export_items(kind, [result]))) for result in results
        )
        if not 1 <= concurrency <= 64:
            raise ValueError(f'concurrency: give 1 to 64 downloads in flight, not {concurrency}')
        settings = ExportSettings(
            kind, Path(path), fmt, overwrite=overwrite, options=dict(options or {}), concurrency=concurrency
        )
        self.set_progress(0, max(count, 1), category=self.progress.EXPORT)
        report = run_export(
            client,
            items,
            count,
            ledger,
            settings,
            on_item=lambda done, total: self.set_progress(done, total, category=self.progress.EXPORT),
            on_convert=lambda done, total: self.set_progress(done, total, category=self.progress.DATASET_CONVERSION),
        )
        self.set_metrics(report.counts, category=self.progress.EXPORT)
        return report

    def execute(self) -> Any:
        """Export with the standard params (:class:`ExportParams`: ``filter``, ``output_format``, ``path`` ...)."""
        filters = dict(getattr(self.params, 'filter', None) or {})
        path = getattr(self.params, 'path', None)
        if not path:
            raise ValueError(f'{type(self).__name__}: params need a `path` (the output folder), or override execute()')
        results, count = self.get_filtered_results(filters)
        report = self.export(
            results,
            count,
            path=path,
            output_format=getattr(self.params, 'output_format', 'coco'),
            filters=filters,
            overwrite=bool(getattr(self.params, 'overwrite', False)),
            resume=bool(getattr(self.params, 'resume', True)),
            concurrency=int(getattr(self.params, 'concurrency', 8)),
        )
        return {'exported': report.written, 'count': count, 'path': str(path), 'counts': report.counts}
