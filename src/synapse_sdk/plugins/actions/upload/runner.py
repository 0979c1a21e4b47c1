"""The upload engine: each planned data unit made exactly once, ``concurrency`` at a time.

For a unit: skip it when the run's ledger has it; else look it up on the backend by key (a unit an
interrupted run made); else copy each file from the storage into a seekable spool while hashing it
(SHA-256, streamed), upload or reference it, and create the unit with its key (a ``400`` for a key
taken meanwhile is answered by the lookup). With a project, the unit's task is created unless one
exists. Only then is the unit written to the ledger.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import PurePosixPath
from typing import IO, Any

from synapse_sdk.exceptions import ClientError
from synapse_sdk.plugins.actions.to_task.ledger import data_hash
from synapse_sdk.plugins.actions.upload.discovery import UnitPlan
from synapse_sdk.plugins.actions.upload.ledger import UploadLedger
from synapse_sdk.plugins.actions.upload.models import UnitFailure, UploadParams, UploadResult
from synapse_sdk.utils.redact import redact
from synapse_sdk.utils.storage import Storage
from synapse_sdk.utils.storage.base import CHUNK_BYTES

__all__ = ['SPOOL_BYTES', 'UploadRunner']

SPOOL_BYTES = 8 << 20  #: files up to this size are spooled in memory, larger ones on disk

Progress = Callable[[int, int], None]


def spool(storage: Storage, path: str) -> tuple[IO[bytes], str, int]:
    """``path`` copied into a seekable temporary file, with its SHA-256 and size (one streamed read)."""
    digest, size = hashlib.sha256(), 0
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # returned open
    try:
        with storage.open(path, 'rb') as src:
            while chunk := src.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return out, digest.hexdigest(), size


class UploadRunner:
    """Makes the planned units of one run (see the module docs)."""

    def __init__(
        self,
        client: Any,
        storage: Storage,
        params: UploadParams,
        primary: str,
        ledger: UploadLedger,
        progress: Progress | None = None,
    ) -> None:
        self.client = client
        self.storage = storage
        self.params = params
        self.primary = primary
        self.ledger = ledger
        self.progress = progress

    def run(self, plans: Sequence[UnitPlan], result: UploadResult) -> UploadResult:
        """Every plan, at most ``params.concurrency`` in flight (submitted as slots free up)."""
        result.total += len(plans)
        finished = 0
        self._report(finished, len(plans))
        pending: set[Future[tuple[str, bool]]] = set()
        by_future: dict[Future[tuple[str, bool]], UnitPlan] = {}
        queue = iter(plans)
        with ThreadPoolExecutor(max_workers=self.params.concurrency, thread_name_prefix='upload') as pool:
            while True:
                while len(pending) < self.params.concurrency:
                    plan = next(queue, None)
                    if plan is None:
                        break
                    future = pool.submit(self.upload_unit, plan)
                    pending.add(future)
                    by_future[future] = plan
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    plan = by_future.pop(future)
                    self._tally(result, plan, future)
                    finished += 1
                self._report(finished, len(plans))
        return result

    def _tally(self, result: UploadResult, plan: UnitPlan, future: Future[tuple[str, bool]]) -> None:
        error = future.exception()
        if error is not None:
            result.failed += 1
            detail = redact(f'{type(error).__name__}: {error}')
            result.failures.append(UnitFailure(key=plan.key, error=detail))
            return
        outcome, task_created = future.result()
        setattr(result, outcome, getattr(result, outcome) + 1)
        result.tasks_created += int(task_created)

    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    # ------------------------------------------------------------------ one unit
    def upload_unit(self, plan: UnitPlan) -> tuple[str, bool]:
        """``('skipped' | 'existing' | 'created', task created)`` for one planned unit."""
        if plan.key in self.ledger.done:
            return 'skipped', False
        unit = self.find_unit(plan.key)
        outcome, digest = 'existing', ''
        if unit is None:
            files, digests = self._send_files(plan)
            digest = data_hash(digests)
            try:
                unit = self.client.data_units.create(self.params.data_collection, files, key=plan.key)
                outcome = 'created'
            except ClientError as exc:
                unit = self.find_unit(plan.key) if exc.status_code == 400 else None
                if unit is None:
                    raise
        task_created = self._ensure_task(int(unit['id']))
        self.ledger.record(plan.key, int(unit['id']), digest)
        return outcome, task_created

    def find_unit(self, key: str) -> dict[str, Any] | None:
        """The collection's data unit with ``key``, if any (the backend keeps keys unique per collection)."""
        found = self.client.data_units.list({'data_collection': self.params.data_collection, 'key': key})
        return dict(found[0]) if found else None

    def _send_files(self, plan: UnitPlan) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
        files: dict[str, dict[str, Any]] = {}
        digests: dict[str, str] = {}
        for spec, path in sorted(plan.files.items()):
            name = PurePosixPath(path).name
            if self.params.mode == 'copy':
                fh, digest, _size = spool(self.storage, path)
                with fh:
                    data_file = self.client.data_files.upload(fh, name)
            else:
                digest, size = self.storage.checksum(path)
                url = self.storage.get_url(path)
                data_file = self.client.data_files.register_external(url, name, size=size, checksum=digest)
            files[spec] = {'file': int(data_file['id']), 'is_primary': spec == self.primary}
            digests[spec] = digest
        return files, digests

    def _ensure_task(self, unit_id: int) -> bool:
        project = self.params.project
        if project is None:
            return False
        if self.client.list_tasks({'project': project, 'data_unit': unit_id}):
            return False
        self.client.tasks.create(project, data_unit=unit_id)
        return True
