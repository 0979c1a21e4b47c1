"""Seed 003 (Plugin System overview): every example that defines or runs an action, pasted as written."""

from pydantic import BaseModel, Field

from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins import RuntimeContext, action
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.enums import PluginCategory
from synapse_sdk.plugins.executors import LocalExecutor
from synapse_sdk.plugins.types import ModelWeights, YOLODataset


def run(target, params):
    loggers = []

    def factory():
        loggers.append(MemoryLogger())
        return loggers[-1]

    return LocalExecutor(logger_factory=factory).execute(target, params), loggers[0]


# --- example: @action decorator (convert) -------------------------------------------------------
class ConvertParams(BaseModel):
    source_path: str
    target_format: str = 'yolo'


class ConvertResult(BaseModel):
    output_path: str
    files_converted: int


@action(
    name='convert',
    description='Convert dataset format',
    params=ConvertParams,
    result=ConvertResult,
    category=PluginCategory.EXPORT,
)
def convert(params: ConvertParams, ctx: RuntimeContext) -> ConvertResult:
    ctx.log_message(f'Converting to {params.target_format}')
    # Conversion logic...
    return ConvertResult(output_path='/converted', files_converted=100)


def test_decorator_example_convert():
    result, logger = run(convert, {'source_path': '/data'})
    assert result == ConvertResult(output_path='/converted', files_converted=100)
    assert [e.data['content'] for e in logger.events('message')] == ['Converting to yolo']
    assert convert._action_category is PluginCategory.EXPORT


# --- example: function-based quick start (greet) ------------------------------------------------
class GreetParams(BaseModel):
    name: str = Field(description='Name to greet')
    formal: bool = False


@action(name='greet', params=GreetParams)
def greet(params: GreetParams, ctx: RuntimeContext) -> dict:
    prefix = 'Dear' if params.formal else 'Hello'
    message = f'{prefix} {params.name}!'
    ctx.log_message(message, 'info')
    return {'message': message}


def test_quick_start_function_action_greet():
    assert run(greet, {'name': 'Ada', 'formal': True})[0] == {'message': 'Dear Ada!'}
    assert run(greet, {'name': 'Bob'})[0] == {'message': 'Hello Bob!'}


# --- example: class-based quick start (TrainAction) ---------------------------------------------
class TrainParams(BaseModel):
    dataset: int = Field(description='Dataset ID to train on')
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=32, ge=1)


class TrainResult(BaseModel):
    model_path: str
    final_loss: float
    metrics: dict[str, float]


class TrainAction(BaseAction[TrainParams]):
    category = PluginCategory.NEURAL_NET
    input_type = YOLODataset
    output_type = ModelWeights
    result_model = TrainResult

    def execute(self) -> TrainResult:
        self.set_progress(0, self.params.epochs, 'training')
        for epoch in range(self.params.epochs):
            # Training logic...
            self.set_progress(epoch + 1, self.params.epochs, 'training')
            self.set_metrics({'loss': 0.5, 'mAP50': 0.85}, 'training')
        return TrainResult(model_path='/models/best.pt', final_loss=0.05, metrics={'mAP50': 0.92, 'mAP50-95': 0.78})


def test_quick_start_class_action_train():
    result, logger = run(TrainAction, {'dataset': 123, 'epochs': 10})
    assert result.model_path == '/models/best.pt'
    assert logger.get_progress('training').current == 10
    assert logger.get_metrics('training') == {'loss': 0.5, 'mAP50': 0.85}
    assert TrainAction.params_model is TrainParams


# --- example: semantic type system -----------------------------------------------------------------
def test_semantic_type_compatibility():
    from synapse_sdk.plugins.types import COCODataset, Dataset, DMDataset, DMv1Dataset, DMv2Dataset

    assert DMv1Dataset.is_compatible_with(DMDataset)
    assert DMDataset.is_compatible_with(DMv2Dataset)
    assert YOLODataset.is_compatible_with(Dataset)
    assert not YOLODataset.is_compatible_with(COCODataset)
    assert not ModelWeights.is_compatible_with(Dataset)
