"""Fetch a dataset (an http(s) URL, a ``.zip`` or a folder) into a new folder, safely and atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets._paths import extract_zip
from synapse_sdk.plugins.datasets._signals import terminate_cleanly
from synapse_sdk.plugins.datasets._staging import Staging
from synapse_sdk.utils.redact import redact

__all__ = ['fetch_dataset']

_CHUNK = 1 << 20


def _download(url: str, dest: Path, progress: Callable[[int, int], None] | None, transport: Any = None) -> None:
    import httpx

    try:
        with httpx.Client(transport=transport, follow_redirects=True, timeout=60.0) as client:
            with client.stream('GET', url) as response:
                if response.status_code >= 400:
                    raise ValidationError(f'Download failed: HTTP {response.status_code} for {redact(url)}', {})
                total = int(response.headers.get('content-length') or 0)
                done = 0
                with open(dest, 'wb') as fh:
                    for chunk in response.iter_bytes(_CHUNK):
                        fh.write(chunk)
                        done += len(chunk)
                        if progress is not None and total:
                            progress(min(done, total), total)
    except httpx.HTTPError as exc:
        raise ValidationError(f'Download failed for {redact(url)}: {type(exc).__name__}', {}) from None


def fetch_dataset(
    source: str,
    output: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    transport: Any = None,
) -> int:
    """Put the dataset at ``source`` into the new folder ``output``; returns the number of files.

    A ``.zip`` (downloaded or local) is extracted after checking every member name: an absolute,
    ``..`` or symlink member refuses the whole archive. A local folder is copied. The output is built
    beside ``output`` and moved into place at the end, so a failure leaves nothing behind.
    """
    with (
        terminate_cleanly(),
        tempfile.TemporaryDirectory(prefix='synapse-download-') as scratch,
        Staging(Path(output), overwrite=overwrite) as staging,
    ):
        if source.startswith(('http://', 'https://')):
            archive = Path(scratch) / 'dataset.zip'
            _download(source, archive, progress, transport)
        else:
            archive = Path(source.removeprefix('file://'))
            if not archive.exists():
                raise FileNotFoundError(f'Dataset source {archive} does not exist')
        if archive.is_dir():
            shutil.copytree(archive, staging, dirs_exist_ok=True)
        elif zipfile.is_zipfile(archive):
            extract_zip(archive, staging)
        else:
            raise ValidationError(f'{redact(source)} is neither a folder nor a .zip archive', {})
        return sum(len(files) for _, _, files in os.walk(staging))
