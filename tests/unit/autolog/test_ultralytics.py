"""``autolog('ultralytics', action)`` against a trainer stand-in.

Ultralytics cannot be imported without torch (its package ``__init__`` imports it, even for
``ultralytics.utils.callbacks.base``), which this environment does not have. So the stand-in below
replays what Ultralytics 8.4's ``BaseTrainer._do_train`` and ``BaseValidator.__call__`` do with
callbacks: the trainer deep-copies the registry at construction (``get_default_callbacks()``), runs
every callback of an event with itself as the argument, and sets ``epoch``, ``epochs``, ``tloss``,
``lr`` and ``metrics`` at the same points, including the extra ``on_fit_epoch_end`` of the final
evaluation with ``epoch`` moved one past the last.
"""

from __future__ import annotations

from collections import defaultdict
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from synapse_sdk.loggers import MemoryLogger
from synapse_sdk.plugins.action import BaseAction
from synapse_sdk.plugins.autolog import ULTRALYTICS_EVENTS, autolog, disable_autolog, enable_ultralytics
from synapse_sdk.plugins.context import RuntimeContext

#: the event names of ``ultralytics.utils.callbacks.base.default_callbacks`` (8.4)
EVENTS = (
    'on_pretrain_routine_start',
    'on_pretrain_routine_end',
    'on_train_start',
    'on_train_epoch_start',
    'on_train_batch_start',
    'optimizer_step',
    'on_before_zero_grad',
    'on_train_batch_end',
    'on_train_epoch_end',
    'on_fit_epoch_end',
    'on_model_save',
    'on_train_end',
    'on_params_update',
    'teardown',
    'on_val_start',
    'on_val_batch_start',
    'on_val_batch_end',
    'on_val_end',
    'on_predict_start',
    'on_predict_batch_start',
    'on_predict_postprocess_end',
    'on_predict_batch_end',
    'on_predict_end',
    'on_export_start',
    'on_export_end',
)


def _noop(obj: Any) -> None:
    """Ultralytics' default callbacks do nothing."""


def default_callbacks() -> dict[str, list[Any]]:
    return {event: [_noop] for event in EVENTS}


class Scalar:
    """A 0-d tensor's float protocol."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __float__(self) -> float:
        return self.value


class Validator:
    def __init__(self, callbacks: dict[str, list[Any]], batches: int) -> None:
        self.callbacks = callbacks
        self.batches = batches
        self.dataloader: list[int] | None = None
        self.training = True

    def run_callbacks(self, event: str) -> None:
        for callback in self.callbacks.get(event, []):
            callback(self)

    def __call__(self, epoch: int) -> dict[str, float]:
        self.dataloader = list(range(self.batches))
        self.run_callbacks('on_val_start')
        for _ in self.dataloader:
            self.run_callbacks('on_val_batch_start')
            self.run_callbacks('on_val_batch_end')
        self.run_callbacks('on_val_end')
        return {
            'metrics/precision(B)': 0.5 + epoch / 100,
            'metrics/mAP50(B)': 0.3 + epoch / 100,
            'val/box_loss': 1.0 - epoch / 10,
            'fitness': 0.4,
        }


class Trainer:
    """What a DetectionTrainer does with its callbacks and the attributes they read."""

    def __init__(self, registry: dict[str, list[Any]], epochs: int, save_dir: Path) -> None:
        self.callbacks = defaultdict(list, deepcopy(registry))  # as get_default_callbacks()
        self.epochs = epochs
        self.epoch = 0
        self.tloss: dict[str, Scalar] | None = None
        self.lr: dict[str, float] = {}
        self.metrics: dict[str, float] = {}
        self.loss_names = ('box_loss', 'cls_loss', 'dfl_loss')
        self.save_dir = save_dir
        self.best, self.last = save_dir / 'weights' / 'best.pt', save_dir / 'weights' / 'last.pt'
        self.validator = Validator(self.callbacks, batches=3)

    def run_callbacks(self, event: str) -> None:
        for callback in self.callbacks.get(event, []):
            callback(self)

    def label_loss_items(self, loss_items: Any = None, prefix: str = 'train') -> Any:
        if loss_items is None:
            return [f'{prefix}/{x}' for x in self.loss_names]
        return {f'{prefix}/{k}': round(float(v), 5) for k, v in loss_items.items()}

    def train(self) -> None:
        for event in ('on_pretrain_routine_start', 'on_pretrain_routine_end', 'on_train_start'):
            self.run_callbacks(event)
        for epoch in range(self.epochs):
            self.epoch = epoch
            self.run_callbacks('on_train_epoch_start')
            self.tloss = None
            for i in range(2):
                self.run_callbacks('on_train_batch_start')
                items = {name: Scalar(2.0 - epoch * 0.5 + i * 0.1) for name in self.loss_names}
                self.tloss = (
                    items
                    if self.tloss is None
                    else {k: Scalar((float(self.tloss[k]) * i + float(v)) / (i + 1)) for k, v in items.items()}
                )
                self.run_callbacks('on_train_batch_end')
            self.lr = {'lr/pg0': 0.01 / (epoch + 1), 'lr/pg1': 0.02}
            self.run_callbacks('on_train_epoch_end')
            metrics = self.validator(epoch)
            metrics.pop('fitness')
            self.metrics = metrics
            self.run_callbacks('on_model_save')
            self.run_callbacks('on_fit_epoch_end')
        self.metrics = self.validator(50)  # final_eval() with best.pt
        self.metrics.pop('fitness', None)
        self.epoch += 1
        self.run_callbacks('on_fit_epoch_end')
        self.epoch -= 1
        self.run_callbacks('on_train_end')
        self.run_callbacks('teardown')


class Params(BaseModel):
    epochs: int = 3


class Train(BaseAction[Params]):
    registry: dict[str, list[Any]] = {}

    def execute(self) -> None:
        enable_ultralytics(self, self.registry)
        Trainer(self.registry, self.params.epochs, Path('/runs/detect/train')).train()


@pytest.fixture(autouse=True)
def _detach() -> Any:
    yield
    disable_autolog('ultralytics')


def make_action(epochs: int = 3) -> tuple[Train, MemoryLogger]:
    logger = MemoryLogger()
    action = Train(Params(epochs=epochs), RuntimeContext(logger=logger, env={}))
    action.registry = default_callbacks()
    return action, logger


def test_a_training_run_reports_progress_and_metrics_per_epoch():
    action, logger = make_action(epochs=3)
    action.run()
    train = logger.get_progress('train')
    assert (train.current, train.total, train.percent) == (3, 3, 100.0)
    metrics = logger.get_metrics('train')
    assert metrics['epoch'] == 3.0
    assert metrics['train/box_loss'] == pytest.approx(1.05) and set(metrics) >= {'train/cls_loss', 'train/dfl_loss'}
    assert metrics['lr/pg0'] == pytest.approx(0.01 / 3) and metrics['lr/pg1'] == 0.02
    validation = logger.get_metrics('validation')
    assert validation == {'epoch': 3.0, 'metrics/precision(B)': 0.52, 'metrics/mAP50(B)': 0.32, 'val/box_loss': 0.8}
    val_progress = logger.get_progress('validation')
    assert (val_progress.current, val_progress.total) == (3, 3)
    final = logger.get_metrics('final')
    assert final == {'metrics/precision(B)': 1.0, 'metrics/mAP50(B)': 0.8, 'val/box_loss': -4.0}
    end = [entry for entry in logger.entries if entry.event == 'train_end']
    assert len(end) == 1
    assert end[0].data == {
        'epochs': 3,
        'best': '/runs/detect/train/weights/best.pt',
        'last': '/runs/detect/train/weights/last.pt',
        'save_dir': '/runs/detect/train',
    }


def test_progress_is_reported_at_each_epoch_end():
    action, logger = make_action(epochs=4)
    seen: list[float] = []
    action.registry['on_model_save'].append(lambda trainer: seen.append(logger.get_progress('train').percent))
    action.run()
    assert seen == [25.0, 50.0, 75.0, 100.0]


def test_the_hooks_are_added_to_the_registry_once_and_removed_by_disable():
    action, _ = make_action()
    registry = action.registry
    enable_ultralytics(action, registry)
    enable_ultralytics(action, registry)  # again: replaces, never doubles
    assert all(len(registry[event]) == 2 for event in ULTRALYTICS_EVENTS)
    assert registry['on_train_epoch_end'][1].__name__ == 'synapse_autolog_on_train_epoch_end'
    disable_autolog('ultralytics')
    assert all(registry[event] == [_noop] for event in ULTRALYTICS_EVENTS)


def test_a_trainer_made_before_autolog_keeps_its_own_callbacks():
    action, logger = make_action()
    early = Trainer(action.registry, 1, Path('/runs/a'))  # copied the registry before the hooks were added
    enable_ultralytics(action, action.registry)
    early.train()
    assert logger.get_progress('train') is None
    enable_ultralytics(action, early.callbacks)  # a model's or trainer's own callbacks dict
    early.train()
    assert logger.get_progress('train').percent == 100.0


def test_without_ultralytics_installed_autolog_says_how_to_get_it():
    action, _ = make_action()
    with pytest.raises(ImportError, match=r"^autolog\('ultralytics'\): the ultralytics package cannot be imported"):
        autolog('ultralytics', action)
    with pytest.raises(ImportError, match=r'pip install ultralytics'):
        action.autolog('Ultralytics')


def test_an_unknown_framework_lists_the_integrations():
    action, _ = make_action()
    with pytest.raises(ValueError, match=r"^autolog: no integration for framework 'keras' \(available: ultralytics\)"):
        action.autolog('keras')
