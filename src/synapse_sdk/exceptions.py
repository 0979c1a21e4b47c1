"""The one exception tree of the SDK.

Every error the SDK raises on purpose is a :class:`SynapseError`::

    SynapseError
      ClientError(status_code, detail)            HTTP and transport failures
        RequestValidationError      400 / 422
        AuthenticationError         401   (alias AuthError)
        AuthorizationError          403
        NotFoundError               404
        ClientTimeoutError          408 or a read timeout
        RateLimitError              429
        ResponseTooLargeError       a body over the caller's byte limit
        ServerError                 5xx
        ClientConnectionError       no connection (status 0)
      PluginError(message, details)               plugin definition and execution
        ValidationError(+ValueError)              bad params
        ConfigError(+ValueError)                  bad config.yaml
        ActionNotFoundError(+LookupError)
        ActionDefinitionError(+TypeError)         a malformed action class or function
        ExecutionError
        StepError(+RuntimeError)
        RollbackError
        SchemaIncompatibleError                   pipeline neighbours that do not fit
        PreProcessorError(+RuntimeError)
      ExecutorError
        JobFailedError(job_id, status)
      MissingDependencyError(+ImportError)        an optional extra is not installed
      TaskFailed                                  signal: one task of a ToTask run failed (recorded,
                                                  the run goes on; in ``plugins.actions.to_task.errors``)
    RunStopped(BaseException)                     signal: a ToTask run is stopping; a task ends with no
                                                  outcome (caught by the SDK, never reaches the caller)

Messages never contain tokens, passwords or signed URLs: anything that reaches a message from
outside goes through :func:`synapse_sdk.utils.redact.redact` first.

This module imports the standard library only.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    'ActionDefinitionError',
    'ActionNotFoundError',
    'AuthError',
    'AuthenticationError',
    'AuthorizationError',
    'ClientConnectionError',
    'ClientError',
    'ClientTimeoutError',
    'ConfigError',
    'ConfigWarning',
    'ExecutionError',
    'ExecutorError',
    'JobFailedError',
    'MissingDependencyError',
    'NotFoundError',
    'PluginError',
    'PreProcessorError',
    'RateLimitError',
    'RequestValidationError',
    'ResponseTooLargeError',
    'RollbackError',
    'SchemaIncompatibleError',
    'ServerError',
    'StepError',
    'SynapseError',
    'ValidationError',
    'client_error_for_status',
]


class SynapseError(Exception):
    """Root of every error the SDK raises on purpose."""


# --------------------------------------------------------------------------- clients


class ClientError(SynapseError):
    """An HTTP call failed; ``str()`` is ``'<status_code>: <detail>'``."""

    def __init__(self, status_code: int, detail: Any = None) -> None:
        self.status_code = status_code
        self.detail = detail
        super().__init__(status_code, detail)

    def __str__(self) -> str:
        return f'{self.status_code}: {_detail_text(self.detail)}'


class RequestValidationError(ClientError):
    """The server refused the request body or query (400 / 422)."""


class AuthenticationError(ClientError):
    """Missing or invalid credentials (401)."""


AuthError = AuthenticationError


class AuthorizationError(ClientError):
    """Valid credentials without the needed permission (403)."""


class NotFoundError(ClientError):
    """The resource does not exist (404)."""


class ClientTimeoutError(ClientError):
    """The server did not answer in time (408 or a read timeout)."""


class RateLimitError(ClientError):
    """Too many requests (429)."""

    def __init__(self, status_code: int, detail: Any = None, retry_after: float | None = None) -> None:
        super().__init__(status_code, detail)
        self.retry_after = retry_after


class ServerError(ClientError):
    """The server failed (5xx)."""


class ResponseTooLargeError(ClientError):
    """A response body larger than the caller's limit (``limit`` bytes); the rest of it was not read."""

    def __init__(self, status_code: int, detail: Any = None, limit: int = 0) -> None:
        super().__init__(status_code, detail)
        self.limit = limit


class ClientConnectionError(ClientError):
    """No answer came over the connection (status 0).

    ``kind``: ``refused`` (it could not be opened: nothing was sent), ``reset`` (it was lost before the
    answer), ``incomplete`` (the answer's body was cut off) or ``failed`` (anything else).
    """

    def __init__(self, status_code: int = 0, detail: Any = None, *, kind: str = 'failed') -> None:
        super().__init__(status_code, detail)
        self.kind = kind


_STATUS_CLASSES: dict[int, type[ClientError]] = {
    400: RequestValidationError,
    401: AuthenticationError,
    403: AuthorizationError,
    404: NotFoundError,
    408: ClientTimeoutError,
    422: RequestValidationError,
    429: RateLimitError,
}


def client_error_for_status(status_code: int, detail: Any = None) -> ClientError:
    """Build the :class:`ClientError` subclass that matches an HTTP status code."""
    if status_code in _STATUS_CLASSES:
        return _STATUS_CLASSES[status_code](status_code, detail)
    if status_code >= 500:
        return ServerError(status_code, detail)
    if status_code == 0:
        return ClientConnectionError(status_code, detail)
    return ClientError(status_code, detail)


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict) and isinstance(detail.get('detail'), str):
        return detail['detail']
    if isinstance(detail, str):
        return detail
    if detail is None:
        return ''
    import json

    try:
        return json.dumps(detail, separators=(',', ':'), default=str)
    except (TypeError, ValueError):
        return str(detail)


# --------------------------------------------------------------------------- plugins


class PluginError(SynapseError):
    """A plugin could not be defined, found or run; carries ``message`` and ``details``."""

    #: whether a step workflow wraps this error in StepError (lifecycle errors reach callers as is)
    wrap_in_step_error: bool = True

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        self.message = message
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class ValidationError(PluginError, ValueError):
    """Action params (or another user input) failed validation."""


class ConfigError(PluginError, ValueError):
    """``config.yaml`` is malformed or misses a required field."""


class ActionNotFoundError(PluginError, LookupError):
    """No action of that name; ``details['available']`` lists the ones that exist."""


class ActionDefinitionError(PluginError, TypeError):
    """An action class or function is malformed (raised when it is defined or registered)."""


class ExecutionError(PluginError):
    """An action raised an unexpected exception; the original is on ``__cause__``."""


class StepError(PluginError, RuntimeError):
    """A workflow step failed; the original exception is on ``__cause__``."""

    def __init__(self, message: str, details: dict[str, Any] | None = None, *, step: str | None = None) -> None:
        super().__init__(message, details)
        self.step = step


class RollbackError(PluginError):
    """A step's rollback failed."""


class SchemaIncompatibleError(PluginError):
    """Two neighbouring pipeline actions do not fit together."""


class PreProcessorError(PluginError, RuntimeError):
    """A pre-processor could not be deployed or called; ``phase``, ``error_type`` and ``status`` say how."""

    wrap_in_step_error = False

    def __init__(
        self,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        phase: str | None = None,
        error_type: str | None = None,
        status: str | None = None,
    ) -> None:
        super().__init__(message, details)
        self.phase = phase
        self.error_type = error_type
        self.status = status


# --------------------------------------------------------------------------- executors


class ExecutorError(SynapseError):
    """An executor could not submit, track or collect a run."""


class JobFailedError(ExecutorError):
    """A job ended FAILED or STOPPED; ``details`` may hold Ray's full message (``ray_message``)."""

    def __init__(
        self, job_id: str, status: str, message: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        self.job_id = job_id
        self.status = status
        self.details: dict[str, Any] = dict(details or {})
        super().__init__(message or f"Job '{job_id}' ended with status {status}")


# --------------------------------------------------------------------------- environment


class MissingDependencyError(SynapseError, ImportError):
    """An optional extra is needed; the message names the ``pip install`` that fixes it."""


class ConfigWarning(UserWarning):
    """``config.yaml`` has something suspicious but usable (an unknown key, an odd version)."""
