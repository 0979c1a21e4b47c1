"""In-process execution."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from synapse_sdk.loggers import BaseLogger, ConsoleLogger
from synapse_sdk.plugins._backend import default_client
from synapse_sdk.plugins._function_action import action_class_for
from synapse_sdk.plugins.context import PluginEnvironment, RuntimeContext
from synapse_sdk.plugins.executors._run import run_action, validate_params


class LocalExecutor:
    """Runs actions in this process: validate params, build the context, run, check the result.

    Args:
        env: settings for the action (``ctx.env``); a dict or a :class:`PluginEnvironment`.
        job_id: the job the run belongs to.
        client: a backend client; by default one is resolved from credentials on first use of
            ``ctx.client`` (None when none are configured).
        logger_factory: builds the logger of each run (default: :class:`ConsoleLogger`).
        allow_unknown_params: run despite params keys the action's model does not know (each run
            then logs a warning naming them); by default such keys are refused
            (``SYNAPSE_ALLOW_UNKNOWN_PARAMS=1`` relaxes them where this is not given).
    """

    def __init__(
        self,
        env: PluginEnvironment | Mapping[str, Any] | None = None,
        job_id: str | None = None,
        *,
        client: Any | None = None,
        agent_client: Any | None = None,
        logger_factory: Callable[[], BaseLogger] | None = None,
        checkpoint: dict[str, Any] | None = None,
        language: str | None = None,
        allow_unknown_params: bool | None = None,
    ) -> None:
        self.env = env if isinstance(env, PluginEnvironment) else PluginEnvironment(env)
        self.job_id = job_id
        self.client = client
        self.agent_client = agent_client
        self.logger_factory = logger_factory or ConsoleLogger
        self.checkpoint = checkpoint
        self.language = language
        self.allow_unknown_params = allow_unknown_params

    def execute(self, action: Any, params: Mapping[str, Any] | BaseModel | None = None) -> Any:
        """Run ``action`` (a ``BaseAction`` subclass or an ``@action`` function) with ``params``."""
        action_cls = action_class_for(action)
        warnings: list[str] = []
        validated = validate_params(action_cls, params, allow_unknown=self.allow_unknown_params, warnings=warnings)
        ctx = RuntimeContext(
            logger=self.logger_factory(),
            env=self.env,
            job_id=self.job_id,
            client=self.client,
            agent_client=self.agent_client,
            checkpoint=self.checkpoint,
            language=self.language,
            client_factory=None if self.client is not None else default_client,
        )
        for message in warnings:
            ctx.logger.warning(message)
        return run_action(action_cls, validated, ctx)
