"""The runtime context injected into every action."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from synapse_sdk.enums import LogLevel
from synapse_sdk.loggers import BaseLogger
from synapse_sdk.plugins.context.env import PluginEnvironment


@runtime_checkable
class BackendClientProtocol(Protocol):
    """What the plugin core calls on a backend client (it never imports the client package).

    ``synapse_sdk.clients.BackendClient`` has all of it; a plugin may pass any object that does (seed
    001's ``run.client``). Optional extras the core uses when present: ``bulk_session`` (ToTask's fast
    path), ``backend_identity`` and ``download_file``. Namespaced resources (``client.plugins`` ...)
    are reached only by the specialised actions, through :mod:`synapse_sdk.plugins.actions`.
    """

    base_url: str

    def get_project(self, project_id: int) -> Any: ...

    def get_data_collection(self, collection_id: int) -> Any: ...

    def get_data_unit(self, unit_id: int, params: dict[str, Any] | None = None) -> Any: ...

    def list_tasks(self, params: Mapping[str, Any] | None = None, list_all: bool = False) -> Any: ...

    def get_task(self, task_id: int, params: Mapping[str, Any] | None = None) -> Any: ...

    def annotate_task_data(self, task_id: int, data: Mapping[str, Any], *, schema: str | None = None) -> Any: ...

    def download_json(self, url: str) -> Any: ...

    def get_plugin_release(self, ident: int | str) -> Any: ...

    def run_plugin(self, code: str, data: Mapping[str, Any]) -> Any: ...

    def list_serve_applications(
        self, params: Mapping[str, Any] | None = None, list_all: bool = False, **filters: Any
    ) -> Any: ...

    def get_job(self, job_id: int | str) -> Any: ...

    def update_job(self, job_id: int | str, data: Mapping[str, Any]) -> Any: ...


class RuntimeContext:
    """Services an action uses while it runs: logging, settings and backend clients.

    ``client`` may be given directly or produced on first use by ``client_factory`` (executors
    pass one that resolves credentials, so runs that never touch the backend never build a client).
    """

    def __init__(
        self,
        logger: BaseLogger,
        env: PluginEnvironment | Mapping[str, Any] | None = None,
        job_id: str | None = None,
        client: BackendClientProtocol | None = None,
        agent_client: Any | None = None,
        checkpoint: dict[str, Any] | None = None,
        language: str | None = None,
        *,
        client_factory: Callable[[], BackendClientProtocol | None] | None = None,
    ) -> None:
        self.logger = logger
        self.env = env if isinstance(env, PluginEnvironment) else PluginEnvironment(env)
        self.job_id = job_id
        self._client = client
        self._client_factory = client_factory
        self._owns_client = False
        self.agent_client = agent_client
        self.checkpoint = checkpoint
        self.language = language

    @property
    def client(self) -> BackendClientProtocol | None:
        """The backend client, or None when no backend is configured."""
        if self._client is None and self._client_factory is not None:
            factory, self._client_factory = self._client_factory, None
            self._client = factory()
            self._owns_client = self._client is not None
        return self._client

    @client.setter
    def client(self, value: BackendClientProtocol | None) -> None:
        self._client = value
        self._client_factory = None
        self._owns_client = False

    def close(self) -> None:
        """Release what this context created itself (a client made by its factory); safe to call twice."""
        if self._owns_client and self._client is not None:
            close = getattr(self._client, 'close', None)
            if callable(close):
                close()
            self._client, self._owns_client = None, False

    def __repr__(self) -> str:
        return f'RuntimeContext(job_id={self.job_id!r}, logger={type(self.logger).__name__}, env={self.env!r})'

    def log(self, event: str, data: Mapping[str, Any] | None = None, file: str | None = None) -> None:
        """Log a structured event."""
        self.logger.log(LogLevel.INFO, event, data or {}, file)

    def set_progress(
        self, current: float, total: float, step: str | None = None, *, category: str | None = None
    ) -> None:
        """Report progress of a step (``category=`` is an alias of ``step``)."""
        self.logger.set_progress(current, total, step or category)

    def set_metrics(self, value: Mapping[str, Any], step: str | None = None, *, category: str | None = None) -> None:
        """Record metrics for a step (``category=`` is an alias of ``step``)."""
        self.logger.set_metrics(value, step or category)

    def log_message(self, message: str, context: LogLevel | str = LogLevel.INFO) -> None:
        """Log a message shown to the user; ``context`` is a level (``'info'``, ``'warning'``, ...)."""
        level = LogLevel(context)
        self.logger.log(level, 'message', {'context': level.value, 'content': message})

    def log_dev_event(self, message: str, data: Mapping[str, Any] | None = None) -> None:
        """Log a debug event for plugin developers (hidden from end users)."""
        self.logger.log(LogLevel.DEBUG, 'dev_event', {'message': message, 'data': dict(data or {})})

    def end_log(self) -> None:
        """Announce that the plugin run is complete."""
        self.log_message('Plugin run is complete.', LogLevel.INFO)
