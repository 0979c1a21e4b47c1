"""Actions of the hello sample plugin."""

from __future__ import annotations

from pydantic import BaseModel, Field

from synapse_sdk.plugins import BaseAction, RuntimeContext, action
from synapse_sdk.plugins.steps import BaseStep, BaseStepContext, StepRegistry, StepResult


class GreetParams(BaseModel):
    """Who to greet."""

    name: str = Field(default='world', description='Name to greet')
    formal: bool = False


class GreetResult(BaseModel):
    """The greeting."""

    message: str


@action(name='greet', description='Greet someone', params=GreetParams, result=GreetResult)
def greet(params: GreetParams, ctx: RuntimeContext) -> GreetResult:
    """Say hello."""
    message = f'{"Dear" if params.formal else "Hello"} {params.name}!'
    ctx.log_message(message, 'success')
    return GreetResult(message=message)


class CountParams(BaseModel):
    """How far to count."""

    upto: int = Field(default=200, ge=1, le=1_000_000)


class CountStep(BaseStep[BaseStepContext]):
    """Counts one half of the range."""

    def __init__(self, name: str, weight: float, start: int, stop: int) -> None:
        self._name, self._weight, self.start, self.stop = name, weight, start, stop

    @property
    def name(self) -> str:
        return self._name

    @property
    def progress_weight(self) -> float:
        return self._weight

    def execute(self, context: BaseStepContext) -> StepResult:
        total = self.stop - self.start
        for i in range(total):
            context.set_progress(i + 1, total)
        return StepResult(data={'counted': total})


class CountAction(BaseAction[CountParams]):
    """Count to ``upto`` in two weighted steps."""

    action_name = 'count'

    def setup_steps(self, registry: StepRegistry[BaseStepContext]) -> None:
        half = self.params.upto // 2
        registry.register(CountStep('first_half', 1, 0, half))
        registry.register(CountStep('second_half', 1, half, self.params.upto))

    def build_result(self, context: BaseStepContext, outcome: dict) -> dict:
        return {'counted': sum(r.data.get('counted', 0) for r in context.step_results), **outcome}
