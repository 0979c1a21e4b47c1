"""``BaseAction[P]``: class-based actions with typed params."""

from __future__ import annotations

import typing
from abc import ABCMeta, abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from synapse_sdk.enums import PluginCategory
from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.loggers import BaseLogger
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.steps import BaseStepContext, Orchestrator, StepRegistry
from synapse_sdk.plugins.types import DataType

__all__ = ['BaseAction', 'NoResult', 'RawParams']

P = TypeVar('P', bound=BaseModel)


class NoResult:
    """Marker for ``result_model``: the result is not validated."""


if TYPE_CHECKING:

    class RawParams(BaseModel):
        """Params model of actions declared without one: every key is kept as given."""

        model_config = ConfigDict(extra='allow')


def __getattr__(name: str) -> Any:
    """``RawParams`` is built on first use: defining a first pydantic model costs ~70 ms (plugin discovery,
    core schema), which ``import synapse_sdk.plugins`` should not pay for a model most runs never use."""
    if name != 'RawParams':
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

    class RawParams(BaseModel):
        """Params model of actions declared without one: every key is kept as given."""

        model_config = ConfigDict(extra='allow')

    RawParams.__module__, RawParams.__qualname__ = __name__, 'RawParams'
    globals()['RawParams'] = RawParams
    return RawParams


class _ActionMeta(ABCMeta):
    """Lets step-based actions (which override ``setup_steps``) omit ``execute``."""

    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any) -> _ActionMeta:
        cls = super().__new__(mcls, name, bases, namespace, **kwargs)
        abstract: frozenset[str] = getattr(cls, '__abstractmethods__', frozenset())
        if 'execute' in abstract and any(
            'setup_steps' in vars(c) for c in cls.__mro__[:-1] if c.__name__ != 'BaseAction'
        ):
            cls.__abstractmethods__ = frozenset(abstract - {'execute'})
        return cls


class BaseAction(Generic[P], metaclass=_ActionMeta):
    """Base class of class-based actions.

    Declare the params model as the generic argument (``class Train(BaseAction[TrainParams])``);
    it becomes ``params_model``. Implement :meth:`execute`, or register steps in
    :meth:`setup_steps` to run an orchestrated workflow instead.
    """

    action_name: ClassVar[str | None] = None
    description: ClassVar[str] = ''
    category: ClassVar[PluginCategory | None] = None
    input_type: ClassVar[type[DataType] | None] = None
    output_type: ClassVar[type[DataType] | None] = None
    params_model: ClassVar[type[BaseModel]]
    result_model: ClassVar[type[BaseModel] | type[NoResult]] = NoResult

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        model = _declared_params_model(cls)
        if model is not None:
            cls.params_model = model
        elif 'params_model' not in _inherited_attrs(cls) and not _is_generic_base(cls):
            raise ActionDefinitionError(
                f'{cls.__name__} must declare its params model as the generic argument: '
                f'class {cls.__name__}(BaseAction[MyParams]) with MyParams a pydantic BaseModel'
            )
        _check_class_attrs(cls)

    def __init__(self, params: P, ctx: RuntimeContext) -> None:
        self.params = params
        self.ctx = ctx

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def execute(self) -> Any:
        """The action's work; its return value is the result."""

    def setup_steps(self, registry: StepRegistry[Any]) -> None:
        """Register workflow steps; when any are registered, :meth:`run` orchestrates them instead of execute."""

    def create_context(self) -> BaseStepContext:
        """The shared context of the step workflow."""
        return BaseStepContext(runtime_ctx=self.ctx, params=self.params.model_dump())

    def build_result(self, context: BaseStepContext, outcome: dict[str, Any]) -> Any:
        """The result of a step workflow; by default the orchestrator's summary."""
        return outcome

    # ------------------------------------------------------------------ running
    def run(self) -> Any:
        """Run the step workflow if :meth:`setup_steps` registers steps, else :meth:`execute`."""
        registry: StepRegistry[Any] = StepRegistry()
        self.setup_steps(registry)
        if not registry:
            return self.execute()
        total = registry.total_weight or 1.0
        self.logger.step_proportions = {
            step.name: round(step.progress_weight / total * 100, 4) for step in registry.get_steps()
        }
        context = self.create_context()
        outcome = Orchestrator(registry, context, progress_callback=self._on_workflow_progress).execute()
        return self.build_result(context, outcome)

    def _on_workflow_progress(self, current: float, total: float) -> None:
        self.logger.set_overall_progress(current / total * 100)

    # ------------------------------------------------------------------ shortcuts
    @property
    def logger(self) -> BaseLogger:
        """The run's logger."""
        return self.ctx.logger

    @property
    def client(self) -> Any:
        """The backend client (None when running without credentials)."""
        return self.ctx.client

    def log(self, event: str, data: Mapping[str, Any] | None = None, file: str | None = None) -> None:
        """Log a structured event."""
        self.ctx.log(event, data, file)

    def set_progress(
        self, current: float, total: float, step: str | None = None, *, category: str | None = None
    ) -> None:
        """Report progress (``category=`` is an alias of ``step``)."""
        self.ctx.set_progress(current, total, step, category=category)

    def set_metrics(self, value: Mapping[str, Any], step: str | None = None, *, category: str | None = None) -> None:
        """Record metrics (``category=`` is an alias of ``step``)."""
        self.ctx.set_metrics(value, step, category=category)

    def autolog(self, framework: str) -> None:
        """Hook an ML framework's callbacks into this action's progress and metrics."""
        from synapse_sdk.plugins.autolog import enable_autolog

        enable_autolog(self, framework)


def _declared_params_model(cls: type) -> type[BaseModel] | None:
    if 'params_model' in cls.__dict__:
        return _as_model(cls, cls.__dict__['params_model'])
    for base in getattr(cls, '__orig_bases__', ()):
        origin = typing.get_origin(base)
        if isinstance(origin, type) and issubclass(origin, BaseAction):
            args = typing.get_args(base)
            if args and not isinstance(args[0], TypeVar):
                return _as_model(cls, args[0])
    return None


def _as_model(cls: type, candidate: object) -> type[BaseModel]:
    if isinstance(candidate, type) and issubclass(candidate, BaseModel):
        return candidate
    raise ActionDefinitionError(
        f'{cls.__name__}: the params type must be a pydantic BaseModel subclass, got {candidate!r}. '
        'Define `class MyParams(BaseModel): ...` and use BaseAction[MyParams]'
    )


def _inherited_attrs(cls: type) -> set[str]:
    return {name for base in cls.__mro__[1:] for name in vars(base)}


def _is_generic_base(cls: type) -> bool:
    return bool(getattr(cls, '__parameters__', ()))


def _check_class_attrs(cls: type[BaseAction[Any]]) -> None:
    result = cls.__dict__.get('result_model')
    if (
        result is not None
        and result is not NoResult
        and not (isinstance(result, type) and issubclass(result, BaseModel))
    ):
        raise ActionDefinitionError(
            f'{cls.__name__}.result_model must be a pydantic BaseModel subclass or NoResult, got {result!r}'
        )
    for attr in ('input_type', 'output_type'):
        value = cls.__dict__.get(attr)
        if value is not None and not (isinstance(value, type) and issubclass(value, DataType)):
            raise ActionDefinitionError(
                f'{cls.__name__}.{attr} must be a DataType subclass from synapse_sdk.plugins.types, got {value!r}'
            )
    category = cls.__dict__.get('category')
    if category is not None and not isinstance(category, PluginCategory):
        try:
            cls.category = PluginCategory(category)
        except ValueError:
            valid = ', '.join(c.value for c in PluginCategory)
            raise ActionDefinitionError(f'{cls.__name__}.category={category!r} is not one of: {valid}') from None
