import pytest

from synapse_sdk.exceptions import ActionDefinitionError, StepError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.steps import (
    BaseStep,
    BaseStepContext,
    LoggingStep,
    Orchestrator,
    StepRegistry,
    StepResult,
    TimingStep,
    ValidationStep,
)


class Step(BaseStep[BaseStepContext]):
    def __init__(self, name, weight=1.0, *, skip=False, fail=None, fail_rollback=False, log=None):
        self._name = name
        self._weight = weight
        self.skip = skip
        self.fail = fail
        self.fail_rollback = fail_rollback
        self.log = log if log is not None else []

    @property
    def name(self):
        return self._name

    @property
    def progress_weight(self):
        return self._weight

    def can_skip(self, context):
        return self.skip

    def execute(self, context):
        self.log.append(('run', self._name, context.current_step))
        if isinstance(self.fail, Exception):
            raise self.fail
        if self.fail == 'result':
            return StepResult(success=False, error='bad data')
        return StepResult(data={'name': self._name}, rollback_data={'undo': self._name})

    def rollback(self, context, result):
        self.log.append(('rollback', self._name))
        if self.fail_rollback:
            raise RuntimeError(f'cannot undo {self._name}')


def test_registry_order_insertions_and_removal():
    reg = StepRegistry()
    reg.register(Step('a')).register(Step('c'))
    reg.insert_before('c', Step('b'))
    reg.insert_after('c', Step('d', 2))
    assert [s.name for s in reg.get_steps()] == ['a', 'b', 'c', 'd']
    assert reg.total_weight == 5
    removed = reg.unregister('b')
    assert removed.name == 'b' and [s.name for s in reg.get_steps()] == ['a', 'c', 'd']
    assert 'a' in reg and len(reg) == 3


def test_registry_errors():
    reg = StepRegistry()
    reg.register(Step('a'))
    with pytest.raises(ValueError, match=r"^Step 'a' is already registered; step names must be unique$"):
        reg.register(Step('a'))
    with pytest.raises(ValueError, match=r"^Step 'x' not found$"):
        reg.insert_before('x', Step('b'))
    with pytest.raises(ValueError, match=r"^Step 'x' not found$"):
        reg.unregister('x')
    with pytest.raises(ValueError, match=r"^Step 'neg' has progress_weight -1; it must be a finite number >= 0$"):
        reg.register(Step('neg', -1))
    for bad in (float('inf'), float('nan'), True):
        with pytest.raises(ValueError, match=r"^Step 'bad' has progress_weight .+; it must be a finite number >= 0$"):
            reg.register(Step('bad', bad))
    with pytest.raises(ActionDefinitionError, match='Only BaseStep instances'):
        reg.register(object())


def test_spec_example_rollback_in_reverse_including_failed_step():
    log = []
    reg = StepRegistry()
    for step in (
        Step('a', log=log),
        Step('b', skip=True, log=log),
        Step('c', log=log),
        Step('d', fail=RuntimeError('kaboom'), log=log),
        Step('e', log=log),
    ):
        reg.register(step)
    context = BaseStepContext()
    with pytest.raises(StepError, match=r"^Step 'd' failed: kaboom$") as info:
        Orchestrator(reg, context).execute()
    assert isinstance(info.value.__cause__, RuntimeError)
    assert info.value.step == 'd'
    assert log == [
        ('run', 'a', 'a'),
        ('run', 'c', 'c'),
        ('run', 'd', 'd'),
        ('rollback', 'd'),
        ('rollback', 'c'),
        ('rollback', 'a'),
    ]


def test_rollback_failures_are_recorded_and_rollback_continues():
    log = []
    reg = StepRegistry()
    reg.register(Step('a', log=log)).register(Step('b', fail_rollback=True, log=log))
    reg.register(Step('c', fail='result', log=log))
    context = BaseStepContext()
    with pytest.raises(StepError, match=r"^Step 'c' failed: bad data$"):
        Orchestrator(reg, context).execute()
    assert log[-3:] == [('rollback', 'c'), ('rollback', 'b'), ('rollback', 'a')]
    assert context.errors == ["Rollback failed for step 'b': cannot undo b"]


def test_success_summary_progress_callback_and_skips_count_weight():
    reg = StepRegistry()
    reg.register(Step('a', 1)).register(Step('b', 1, skip=True)).register(Step('c', 2))
    calls = []
    context = BaseStepContext()
    result = Orchestrator(reg, context, progress_callback=lambda cur, tot: calls.append((cur, tot))).execute()
    assert result == {'success': True, 'steps_executed': 2, 'steps_total': 3}
    assert calls == [(25.0, 100), (50.0, 100), (100.0, 100)]
    assert [r.skipped for r in context.step_results] == [False, True, False]
    assert context.current_step is None


def test_step_context_progress_defaults_to_running_step():
    logger = MemoryLogger()

    class Progress(Step):
        def execute(self, context):
            context.set_progress(3, 4)
            context.set_metrics({'m': 1})
            return StepResult()

    reg = StepRegistry()
    reg.register(Progress('load'))
    Orchestrator(reg, BaseStepContext(runtime_ctx=RuntimeContext(logger=logger))).execute()
    assert logger.get_progress('load').current == 3
    assert logger.get_metrics('load') == {'m': 1}


def test_logging_timing_and_validation_wrappers():
    logger = MemoryLogger()
    context = BaseStepContext(runtime_ctx=RuntimeContext(logger=logger), params={'ok': True})
    inner = Step('work', 2)
    reg = StepRegistry()
    reg.register(ValidationStep(lambda ctx: (ctx.params['ok'], None)))
    reg.register(LoggingStep(TimingStep(inner)))
    assert [s.name for s in reg.get_steps()] == ['validate', 'logged_timed_work']
    assert reg.total_weight == pytest.approx(2.05)
    Orchestrator(reg, context).execute()
    assert [e.event for e in logger.entries] == ['step_start', 'step_end']
    assert 'duration_seconds' in context.step_results[-1].data

    bad = StepRegistry()
    bad.register(ValidationStep(lambda ctx: (False, 'dataset is empty'), name='check'))
    with pytest.raises(StepError, match=r"^Step 'check' failed: dataset is empty$"):
        Orchestrator(bad, BaseStepContext()).execute()


def test_logging_step_logs_rollback():
    logger = MemoryLogger()
    reg = StepRegistry()
    reg.register(LoggingStep(Step('a')))
    reg.register(Step('b', fail=ValueError('x')))
    with pytest.raises(StepError):
        Orchestrator(reg, BaseStepContext(runtime_ctx=RuntimeContext(logger=logger))).execute()
    assert [e.event for e in logger.entries] == ['step_start', 'step_end', 'step_rollback']
