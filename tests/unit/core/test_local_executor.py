import logging

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.exceptions import ExecutionError, StepError, ValidationError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import BaseAction, RuntimeContext, action
from synapse_sdk.plugins.executors import LocalExecutor


class Params(BaseModel):
    epochs: int = Field(default=2, ge=1, le=10)
    lr: float = Field(default=0.1, gt=0, lt=1)
    name: str


class Result(BaseModel):
    path: str


class Train(BaseAction[Params]):
    result_model = Result

    def execute(self) -> dict:
        return {'path': f'/m/{self.params.name}', 'env': self.ctx.env.get('MODE'), 'job': self.ctx.job_id}


def run(action_obj, params, **kwargs):
    loggers = []

    def factory():
        loggers.append(MemoryLogger())
        return loggers[-1]

    result = LocalExecutor(logger_factory=factory, **kwargs).execute(action_obj, params)
    return result, loggers[0]


def test_class_action_runs_with_env_and_job_id_and_logger_is_finished():
    result, logger = run(Train, {'name': 'a'}, env={'MODE': 'dev'}, job_id='job-1')
    assert result == {'path': '/m/a', 'env': 'dev', 'job': 'job-1'}
    assert logger.finished


def test_bad_params_name_every_field_and_constraint():
    with pytest.raises(ValidationError) as info:
        LocalExecutor().execute(Train, {'epochs': 0, 'lr': 2})
    assert str(info.value) == (
        'Parameter validation failed: epochs: Input should be greater than or equal to 1; '
        'lr: Input should be less than 1; name: Field required'
    )
    assert [e['loc'] for e in info.value.details['errors']] == [['epochs'], ['lr'], ['name']]
    assert isinstance(info.value, ValueError)


def test_params_that_are_not_an_object_are_refused():
    with pytest.raises(
        ValidationError, match=r'^Parameter validation failed: params must be an object \(a dict\), got list$'
    ):
        LocalExecutor().execute(Train, [1, 2])


def test_result_validation_only_warns(caplog: pytest.LogCaptureFixture):
    class Loose(BaseAction[Params]):
        result_model = Result

        def execute(self) -> dict:
            return {'wrong': 1}

    with caplog.at_level(logging.WARNING, logger='synapse_sdk'):
        result, logger = run(Loose, {'name': 'x'})
    assert result == {'wrong': 1}
    message = 'Result validation warning for Result: path: Field required'
    assert caplog.messages == [message]
    assert [e.data['message'] for e in logger.events('warning')] == [message]


def test_unexpected_exception_becomes_execution_error_with_cause():
    class Boom(BaseAction[Params]):
        def execute(self) -> None:
            raise KeyError('missing-key')

    with pytest.raises(ExecutionError, match=r"^Action execution failed: 'missing-key'$") as info:
        LocalExecutor().execute(Boom, {'name': 'x'})
    assert isinstance(info.value.__cause__, KeyError)


def test_our_own_errors_propagate_unchanged():
    class Raises(BaseAction[Params]):
        def execute(self) -> None:
            raise StepError("Step 'x' failed: y")

    with pytest.raises(StepError, match=r"^Step 'x' failed: y$"):
        LocalExecutor().execute(Raises, {'name': 'x'})


def test_secrets_are_redacted_from_execution_errors():
    class Leaky(BaseAction[Params]):
        def execute(self) -> None:
            raise RuntimeError('GET https://user:hunter22@example.com/x?X-Amz-Signature=abcdef123 failed token=s3cr3t')

    with pytest.raises(ExecutionError) as info:
        LocalExecutor().execute(Leaky, {'name': 'x'})
    text = str(info.value)
    assert 'hunter22' not in text and 'abcdef123' not in text and 's3cr3t' not in text


def test_function_action_runs_exactly_like_a_class_action():
    @action(name='fn', params=Params, result=Result)
    def fn(params: Params, ctx: RuntimeContext) -> Result:
        ctx.set_progress(1, 1, 'work')
        return Result(path=params.name)

    result, logger = run(fn, {'name': 'z'})
    assert result == Result(path='z')
    assert logger.get_progress('work').percent == 100.0
    with pytest.raises(ValidationError, match=r'^Parameter validation failed: name: Field required$'):
        LocalExecutor().execute(fn, {})


def test_function_action_without_params_model_gets_the_raw_dict():
    seen = []

    @action()
    def raw(params, ctx):
        seen.append(params)
        return 'ok'

    assert run(raw, {'a': 1, 'nested': {'b': [1, 2]}})[0] == 'ok'
    assert seen == [{'a': 1, 'nested': {'b': [1, 2]}}]


def test_a_plain_function_is_not_an_action():
    def plain(params, ctx):
        return None

    with pytest.raises(Exception, match=r'is not an action: subclass synapse_sdk.plugins.BaseAction or decorate'):
        LocalExecutor().execute(plain, {})


def test_step_workflow_runs_through_executor():
    from synapse_sdk.plugins.steps import BaseStep, BaseStepContext, StepResult

    class Only(BaseStep[BaseStepContext]):
        name = 'only'
        progress_weight = 1.0

        def execute(self, context: BaseStepContext) -> StepResult:
            return StepResult(data={'params': context.params})

    class Flow(BaseAction[Params]):
        def setup_steps(self, registry) -> None:
            registry.register(Only())

    result, _ = run(Flow, {'name': 'q'})
    assert result == {'success': True, 'steps_executed': 1, 'steps_total': 1}


def test_client_is_resolved_lazily_only_when_used():
    class NoClient(BaseAction[Params]):
        def execute(self) -> str:
            return 'no backend needed'

    # the client package may be absent or unconfigured: a run that never touches ctx.client still works
    assert run(NoClient, {'name': 'q'})[0] == 'no backend needed'

    class WithClient(BaseAction[Params]):
        def execute(self) -> object:
            return self.client

    sentinel = object()
    assert run(WithClient, {'name': 'q'}, client=sentinel)[0] is sentinel
