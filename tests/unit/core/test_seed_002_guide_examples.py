"""Seed 002 (ACTION_DEV_GUIDE): the function action with a ``context`` argument and the step workflow."""

from pydantic import BaseModel

from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import action
from synapse_sdk.plugins.actions.train import BaseTrainAction, TrainContext
from synapse_sdk.plugins.context import RuntimeContext
from synapse_sdk.plugins.executors import LocalExecutor
from synapse_sdk.plugins.steps import BaseStep, StepRegistry, StepResult


def convert_file(path: str, src: str, dst: str) -> str:
    return f'{path}:{src}->{dst}'


def load_dataset(dataset_id: int) -> list[int]:
    return list(range(dataset_id))


class ConvertParams(BaseModel):
    input_format: str
    output_format: str
    file_path: str


class ConvertResult(BaseModel):
    output_path: str
    converted: bool


@action(name='convert', description='Convert file between formats', params=ConvertParams, result=ConvertResult)
def convert(params: ConvertParams, context: RuntimeContext) -> ConvertResult:
    """Convert a file from one format to another."""
    context.set_progress(0, 100)
    output_path = convert_file(params.file_path, params.input_format, params.output_format)
    context.set_progress(100, 100)
    return ConvertResult(output_path=output_path, converted=True)


class LoadDatasetStep(BaseStep[TrainContext]):
    @property
    def name(self) -> str:
        return 'load_dataset'

    @property
    def progress_weight(self) -> float:
        return 0.2

    def execute(self, context: TrainContext) -> StepResult:
        # Load dataset into context
        context.dataset = load_dataset(context.params['dataset_id'])
        return StepResult(success=True, data={'count': len(context.dataset)})


class TrainStep(BaseStep[TrainContext]):
    @property
    def name(self) -> str:
        return 'train'

    @property
    def progress_weight(self) -> float:
        return 0.7

    def execute(self, context: TrainContext) -> StepResult:
        epochs = context.params.get('epochs', 100)
        for epoch in range(epochs):
            context.set_progress(epoch + 1, epochs)
        return StepResult(success=True)


class MyParams(BaseModel):
    dataset_id: int
    epochs: int = 3


class MyTrainAction(BaseTrainAction[MyParams]):
    def setup_steps(self, registry: StepRegistry[TrainContext]) -> None:
        """Register workflow steps."""
        registry.register(LoadDatasetStep())
        registry.register(TrainStep())
        # Step-based execution replaces execute()


def test_function_action_with_context_argument_name():
    result = LocalExecutor(logger_factory=MemoryLogger).execute(
        convert, {'input_format': 'coco', 'output_format': 'yolo', 'file_path': '/a.json'}
    )
    assert result == ConvertResult(output_path='/a.json:coco->yolo', converted=True)


def test_step_based_train_action_without_execute():
    logger = MemoryLogger()
    result = LocalExecutor(logger_factory=lambda: logger).execute(MyTrainAction, {'dataset_id': 4})
    assert result == {'success': True, 'steps_executed': 2, 'steps_total': 2}
    assert logger.get_progress('train').current == 3
    assert logger.step_proportions == {'load_dataset': 22.2222, 'train': 77.7778}
    assert logger.overall_percent == 100.0
