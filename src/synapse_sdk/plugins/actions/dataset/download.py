"""Fetch a dataset (an http(s) URL, a ``.zip`` or a folder) into a new folder, safely and atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import ClientError, ValidationError
from synapse_sdk.plugins._backend import download_to_file
from synapse_sdk.plugins.datasets._paths import extract_zip
from synapse_sdk.plugins.datasets._signals import terminate_cleanly
from synapse_sdk.plugins.datasets._staging import Staging
from synapse_sdk.utils.redact import redact

__all__ = ['fetch_dataset']


def _download(url: str, dest: Path, progress: Callable[[int, int], None] | None, transport: Any = None) -> None:
    try:
        download_to_file(url, dest, progress=progress, transport=transport)
    except ClientError as exc:
        if exc.status_code >= 400:
            raise ValidationError(f'Download failed: HTTP {exc.status_code} for {redact(url)}', {}) from None
        raise ValidationError(f'Download failed for {redact(url)}: {exc.detail}', {}) from None


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
