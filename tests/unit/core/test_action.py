import types
from typing import Any, Generic, TypeVar

import pytest
from pydantic import BaseModel, Field

from synapse_sdk.exceptions import ActionDefinitionError
from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import BaseAction, NoResult, RuntimeContext
from synapse_sdk.plugins.enums import PluginCategory
from synapse_sdk.plugins.steps import BaseStep, BaseStepContext, StepRegistry, StepResult
from synapse_sdk.plugins.types import ModelWeights, YOLODataset


class Params(BaseModel):
    n: int = Field(default=2, ge=1)


def make_ctx() -> RuntimeContext:
    return RuntimeContext(logger=MemoryLogger(), env={})


def test_params_model_is_taken_from_the_generic_argument():
    class A(BaseAction[Params]):
        def execute(self) -> int:
            return self.params.n

    assert A.params_model is Params
    assert A.result_model is NoResult
    assert A(Params(n=3), make_ctx()).run() == 3


def test_subclass_without_generic_inherits_params_model():
    class A(BaseAction[Params]):
        def execute(self) -> int:
            return 1

    class B(A):
        action_name = 'b'

    assert B.params_model is Params


def test_generic_intermediate_base_is_allowed_and_concrete_subclass_binds_it():
    P = TypeVar('P', bound=BaseModel)

    class MyBase(BaseAction[P], Generic[P]):
        pass

    class Concrete(MyBase[Params]):
        def execute(self) -> str:
            return 'ok'

    assert Concrete.params_model is Params


def test_missing_generic_argument_is_a_definition_error():
    with pytest.raises(ActionDefinitionError, match=r'^Bad must declare its params model as the generic argument'):

        class Bad(BaseAction):  # type: ignore[type-arg]
            def execute(self) -> None:
                return None


def test_non_basemodel_params_type_is_a_definition_error():
    with pytest.raises(
        ActionDefinitionError, match=r'params type must be a pydantic BaseModel subclass, got <class .int.>'
    ):

        class Bad(BaseAction[int]):  # type: ignore[type-var]
            def execute(self) -> None:
                return None


@pytest.mark.parametrize(
    ('attr', 'value', 'message'),
    [
        ('result_model', dict, r'result_model must be a pydantic BaseModel subclass or NoResult'),
        ('input_type', str, r'input_type must be a DataType subclass'),
        ('category', 'not-a-category', r"category='not-a-category' is not one of: neural_net, export"),
    ],
)
def test_bad_class_attributes_are_definition_errors(attr: str, value: Any, message: str):
    with pytest.raises(ActionDefinitionError, match=message):
        types.new_class(
            'Bad', (BaseAction[Params],), exec_body=lambda ns: ns.update({attr: value, 'execute': lambda self: None})
        )


def test_category_string_is_converted_to_the_enum():
    A = types.new_class(
        'A', (BaseAction[Params],), exec_body=lambda ns: ns.update({'category': 'export', 'execute': lambda self: None})
    )
    assert A.category is PluginCategory.EXPORT


def test_execute_is_abstract():
    class NoExecute(BaseAction[Params]):
        pass

    with pytest.raises(TypeError, match='abstract'):
        NoExecute(Params(), make_ctx())


def test_semantic_types_are_class_attributes():
    class Train(BaseAction[Params]):
        input_type = YOLODataset
        output_type = ModelWeights

        def execute(self) -> None:
            return None

    assert Train.input_type.name == 'yolo_dataset'
    assert Train.output_type.format == 'weights'


class Ctx(BaseStepContext):
    pass


class Record(BaseStep[BaseStepContext]):
    def __init__(self, name: str, weight: float) -> None:
        self._name = name
        self._weight = weight

    @property
    def name(self) -> str:
        return self._name

    @property
    def progress_weight(self) -> float:
        return self._weight

    def execute(self, context: BaseStepContext) -> StepResult:
        context.set_progress(1, 1)
        return StepResult(data={'ran': self._name})


def test_run_orchestrates_steps_when_setup_steps_registers_some_and_execute_may_be_omitted():
    class Workflow(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry[BaseStepContext]) -> None:
            registry.register(Record('load', 1))
            registry.register(Record('train', 3))

    ctx = make_ctx()
    result = Workflow(Params(), ctx).run()
    assert result == {'success': True, 'steps_executed': 2, 'steps_total': 2}
    assert ctx.logger.step_proportions == {'load': 25.0, 'train': 75.0}
    assert ctx.logger.overall_percent == 100.0
    assert [step for step, _ in ctx.logger.progress_updates] == ['load', 'train']


def test_run_calls_execute_when_no_steps_are_registered():
    class Plain(BaseAction[Params]):
        def setup_steps(self, registry: StepRegistry[BaseStepContext]) -> None:
            return None

        def execute(self) -> str:
            return 'executed'

    assert Plain(Params(), make_ctx()).run() == 'executed'


def test_shortcuts_reach_the_context_logger():
    class A(BaseAction[Params]):
        def execute(self) -> None:
            self.log('start', {'n': self.params.n})
            self.set_progress(1, 2, 'train')
            self.set_progress(2, 2, category='train')
            self.set_metrics({'loss': 0.5}, 'train')
            self.set_metrics({'acc': 0.9}, category='train')
            return None

    ctx = make_ctx()
    A(Params(), ctx).run()
    logger = ctx.logger
    assert [e.event for e in logger.entries] == ['start']
    assert logger.entries[0].data == {'n': 2}
    assert logger.get_progress('train').percent == 100.0
    assert logger.get_metrics('train') == {'loss': 0.5, 'acc': 0.9}
    assert A(Params(), ctx).logger is logger


def test_autolog_unknown_framework_is_a_clear_error():
    class A(BaseAction[Params]):
        def execute(self) -> None:
            self.autolog('keras')

    with pytest.raises(ValueError, match=r"^autolog: no integration for framework 'keras' \(available: ultralytics\)"):
        A(Params(), make_ctx()).run()
