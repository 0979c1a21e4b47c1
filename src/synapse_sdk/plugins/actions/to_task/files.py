"""A task's files and what is said about them: which file is which, reading an annotation file, task errors."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from synapse_sdk.exceptions import ClientConnectionError, ClientError, ClientTimeoutError, ResponseTooLargeError
from synapse_sdk.plugins.actions.to_task.errors import TaskFailed
from synapse_sdk.plugins.actions.to_task.models import MIB
from synapse_sdk.utils.redact import sanitize_urls

__all__ = [
    'download_failure',
    'error_text',
    'file_name',
    'find_spec_file',
    'normalise_files',
    'parse_annotation',
    'url_name',
]


def error_text(exc: BaseException) -> str:
    """The user-facing text of a task error: ``<code>: <detail>`` for HTTP errors, sanitised always."""
    if isinstance(exc, ClientError | TaskFailed):
        return sanitize_urls(str(exc))
    return sanitize_urls(f'{type(exc).__name__}: {exc}' if str(exc) else type(exc).__name__)


def download_failure(exc: ClientError, name: str, limit: int) -> TaskFailed:
    """The task error for a download that failed: its true cause, without the URL."""
    if isinstance(exc, ResponseTooLargeError):
        return TaskFailed(
            f'Annotation file {name} is larger than the {limit // MIB} MiB limit (raise max_annotation_file_mb)'
        )
    if isinstance(exc, ClientTimeoutError):
        reason = 'timed out'
    elif isinstance(exc, ClientConnectionError):
        reason = {'refused': 'connection refused', 'reset': 'connection reset', 'incomplete': 'incomplete body'}.get(
            exc.kind, 'connection failed'
        )
    elif 300 <= exc.status_code < 400:
        reason = f'redirect not followed, status {exc.status_code}'
    else:
        reason = f'status {exc.status_code}'
    return TaskFailed(f'Failed to download JSON from URL ({reason})')


def parse_annotation(raw: bytes, name: str) -> dict[str, Any]:
    """The JSON object in an annotation file; ``Invalid JSON format in annotation file (<file>: ...)`` if not."""
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise TaskFailed(f'Invalid JSON format in annotation file ({name}: not UTF-8 text)') from None
    except json.JSONDecodeError as exc:
        raise TaskFailed(
            f'Invalid JSON format in annotation file ({name}: line {exc.lineno}, column {exc.colno})'
        ) from None
    if not isinstance(data, dict):
        kind = 'an array' if isinstance(data, list) else type(data).__name__
        raise TaskFailed(f'Invalid JSON format in annotation file ({name}: expected an object, got {kind})')
    return data


def file_name(file: Mapping[str, Any]) -> str | None:
    """First of ``file_name_original``, ``filename``, ``name``."""
    for key in ('file_name_original', 'filename', 'name'):
        if file.get(key):
            return str(file[key])
    return None


def url_name(url: str) -> str:
    """The last path segment of a URL (never its query string), for messages."""
    return unquote(urlsplit(url).path.rstrip('/').rsplit('/', 1)[-1]) or 'annotation file'


def normalise_files(files: Any) -> list[dict[str, Any]]:
    """Both accepted ``files`` forms as a list of dicts carrying ``specification``."""
    if isinstance(files, dict):
        return [
            {**value, 'specification': value.get('specification') or key}
            for key, value in files.items()
            if isinstance(value, dict)
        ]
    if isinstance(files, list):
        return [f for f in files if isinstance(f, dict)]
    return []


def find_spec_file(files: list[dict[str, Any]], spec: str) -> dict[str, Any] | None:
    """The file of specification ``spec``."""
    for f in files:
        if spec in (f.get('specification'), f.get('specification_name'), f.get('name')):
            return f
    return None
