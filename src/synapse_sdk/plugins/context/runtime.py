"""The runtime context injected into every action."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from synapse_sdk.enums import LogLevel
from synapse_sdk.loggers import BaseLogger
from synapse_sdk.plugins.context.env import PluginEnvironment


@runtime_checkable
class BackendClientProtocol(Protocol):
    """What the plugin core needs of a backend client (it never imports the client package)."""

    base_url: str


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
        client: Any | None = None,
        agent_client: Any | None = None,
        checkpoint: dict[str, Any] | None = None,
        language: str | None = None,
        *,
        client_factory: Callable[[], Any] | None = None,
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
    def client(self) -> Any | None:
        """The backend client, or None when no backend is configured."""
        if self._client is None and self._client_factory is not None:
            factory, self._client_factory = self._client_factory, None
            self._client = factory()
            self._owns_client = self._client is not None
        return self._client

    @client.setter
    def client(self, value: Any | None) -> None:
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
