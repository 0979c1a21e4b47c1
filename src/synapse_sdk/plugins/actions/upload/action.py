"""``BaseUploadAction``: files from a storage into data units (and tasks) of a data collection.

Subclass it with :class:`UploadParams` (or a params model with the same fields) and it runs as is::

    class Upload(BaseUploadAction[UploadParams]):
        action_name = 'upload'

or override :meth:`execute` / the helpers (:meth:`get_storage`, :meth:`discover`, :meth:`upload`) for
your own workflow. A run is resumable: see :mod:`synapse_sdk.plugins.actions.upload.runner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from synapse_sdk.enums import PluginCategory
from synapse_sdk.exceptions import SynapseError
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.actions.upload.discovery import FileSpec, Plan, discover, primary_spec
from synapse_sdk.plugins.actions.upload.ledger import UploadLedger, run_key
from synapse_sdk.plugins.actions.upload.models import UploadParams, UploadResult
from synapse_sdk.plugins.actions.upload.runner import UploadRunner
from synapse_sdk.plugins.steps import BaseStepContext
from synapse_sdk.utils.storage import Storage, get_storage
from synapse_sdk.utils.urls import canonical_url

P = TypeVar('P', bound=BaseModel)

__all__ = ['BaseUploadAction', 'UploadContext', 'UploadProgress']


class UploadProgress:
    """Standard progress categories of uploads."""

    ANALYZE = 'analyze'
    UPLOAD = 'upload'
    DATA_UNITS = 'data_units'


@dataclass
class UploadContext(BaseStepContext):
    """Shared state of a step-based upload."""

    files: list[Any] = field(default_factory=list)
    uploaded: list[dict[str, Any]] = field(default_factory=list)
    data_units: list[dict[str, Any]] = field(default_factory=list)


def _backend_identity(client: Any) -> str:
    reader = getattr(client, 'backend_identity', None)
    if callable(reader):
        return str(reader())
    return f'url:{canonical_url(str(getattr(client, "base_url", "")))}'


class BaseUploadAction(BaseAction[P], Generic[P]):
    """Base of upload actions: discovery, checksums, bounded concurrent uploads, resume without duplicates."""

    category: ClassVar[PluginCategory | None] = PluginCategory.UPLOAD
    progress = UploadProgress()

    def create_context(self) -> UploadContext:
        """An :class:`UploadContext` for step workflows."""
        return UploadContext(runtime_ctx=self.ctx, params=self.params.model_dump())

    # ------------------------------------------------------------------ helpers
    def upload_params(self) -> UploadParams:
        """``self.params`` as :class:`UploadParams` (a params model with other fields is read by name)."""
        if isinstance(self.params, UploadParams):
            return self.params
        return UploadParams.model_validate(self.params.model_dump(include=set(UploadParams.model_fields)))

    def _require_client(self) -> Any:
        if self.client is None:
            raise SynapseError('an upload needs a backend client: run it with credentials (synapse login)')
        return self.client

    def get_storage(self, config: Any = None) -> Storage:
        """The storage of ``config`` (default: ``params.storage``); a storage id is read from the backend."""
        return get_storage(self.upload_params().storage if config is None else config, client=self.client)

    def file_specs(self, data_collection: int) -> list[FileSpec]:
        """The collection's file specifications."""
        collection = self._require_client().data_collections.get(data_collection)
        return [FileSpec.parse(spec) for spec in collection.get('file_specifications') or []]

    def discover(self, storage: Storage, specs: list[FileSpec], params: UploadParams | None = None) -> Plan:
        """The data units the storage's files make (``params.discovery``: flat, recursive or spec)."""
        p = params or self.upload_params()
        return discover(storage, p.path, p.discovery, specs, p.spec_patterns)

    def ledger_for(self, storage: Storage, params: UploadParams) -> UploadLedger:
        """The run's ledger in the state dir, keyed by backend, storage and what is uploaded where."""
        what = params.model_dump(exclude={'name', 'concurrency', 'storage'})
        return UploadLedger.for_key(run_key(_backend_identity(self._require_client()), repr(storage), what))

    def upload(self, storage: Storage, plan: Plan, specs: list[FileSpec], params: UploadParams) -> UploadResult:
        """Make every planned unit once (resumable), reporting progress in the ``upload`` category."""
        ledger = self.ledger_for(storage, params)
        try:
            runner = UploadRunner(
                self._require_client(),
                storage,
                params,
                primary_spec(specs).name,
                ledger,
                progress=lambda done, total: self.set_progress(done, total, self.progress.UPLOAD),
            )
            return runner.run(plan.units, UploadResult(incomplete=plan.incomplete))
        finally:
            ledger.close()

    # ------------------------------------------------------------------ default workflow
    def execute(self) -> Any:
        """Discover, then upload; the result is an :class:`UploadResult` (as a dict)."""
        params = self.upload_params()
        storage = self.get_storage(params.storage)
        specs = self.file_specs(params.data_collection)
        self.set_progress(0, 1, self.progress.ANALYZE)
        plan = self.discover(storage, specs, params)
        self.set_progress(1, 1, self.progress.ANALYZE)
        result = self.upload(storage, plan, specs, params)
        self.log('upload_finished', result.model_dump(include={'total', 'created', 'existing', 'skipped', 'failed'}))
        return result.model_dump()
