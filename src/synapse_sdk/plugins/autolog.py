"""``BaseAction.autolog(framework)`` / ``autolog(framework, action)``: framework callbacks → progress and metrics.

Integrations register here with :func:`register_autolog`. Built in: ``ultralytics``, which adds callbacks
to Ultralytics' registry (``ultralytics.utils.callbacks.base.default_callbacks``; every trainer and
validator made afterwards copies it, so call ``autolog`` before ``YOLO(...)``) for these events:

========================  ======================================================================
``on_train_epoch_end``    ``set_progress(epoch + 1, epochs, 'train')``; ``set_metrics`` of the
                          epoch's losses (``trainer.label_loss_items(trainer.tloss, 'train')``)
                          and learning rates (``trainer.lr``), under ``train``
``on_val_start``          ``set_progress(0, batches, 'validation')`` (batches of its dataloader)
``on_fit_epoch_end``      ``set_metrics(trainer.metrics, 'validation')`` and validation done; the
                          extra call Ultralytics makes after training (the best model's final
                          evaluation) goes to ``final`` instead
``on_train_end``          ``set_progress(epochs, epochs, 'train')`` and a ``train_end`` log event
                          with the best and last checkpoints' paths
========================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    'ULTRALYTICS_EVENTS',
    'UltralyticsAutolog',
    'autolog',
    'disable_autolog',
    'enable_autolog',
    'enable_ultralytics',
    'register_autolog',
]

_INTEGRATIONS: dict[str, Callable[[Any], None]] = {}
_DISABLERS: dict[str, Callable[[], None]] = {}

#: the Ultralytics callback events autolog hooks (names as in ``ultralytics.utils.callbacks.base``)
ULTRALYTICS_EVENTS = ('on_train_epoch_end', 'on_fit_epoch_end', 'on_val_start', 'on_train_end')

Registry = MutableMapping[str, list[Callable[[Any], None]]]


def register_autolog(framework: str, hook: Callable[[Any], None], disable: Callable[[], None] | None = None) -> None:
    """Register ``hook(action)`` as the autolog integration of ``framework`` (``disable()`` undoes it)."""
    _INTEGRATIONS[framework.lower()] = hook
    if disable is not None:
        _DISABLERS[framework.lower()] = disable


def enable_autolog(action: Any, framework: str) -> None:
    """Call the integration registered for ``framework``; unknown frameworks raise ``ValueError``."""
    hook = _INTEGRATIONS.get(framework.lower())
    if hook is None:
        known = ', '.join(sorted(_INTEGRATIONS)) or 'none yet'
        raise ValueError(
            f"autolog: no integration for framework '{framework}' (available: {known}). "
            'Report progress with set_progress() and metrics with set_metrics() instead'
        )
    hook(action)


def autolog(framework: str, action: Any) -> None:
    """``autolog('ultralytics', action)``: the same as ``action.autolog('ultralytics')``."""
    enable_autolog(action, framework)


def disable_autolog(framework: str) -> None:
    """Remove the callbacks ``framework``'s autolog added (nothing when it added none)."""
    disable = _DISABLERS.get(framework.lower())
    if disable is not None:
        disable()


def _numbers(values: Any) -> dict[str, float]:
    """The numeric entries of a metrics mapping as floats (tensors and numpy scalars included)."""
    if not isinstance(values, Mapping):
        return {}
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not hasattr(value, '__float__'):
            continue
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def _function(method: Callable[[Any], None]) -> Callable[[Any], None]:
    def callback(obj: Any) -> None:
        method(obj)

    callback.__name__ = callback.__qualname__ = f'synapse_autolog_{method.__name__}'
    return callback


@dataclass
class UltralyticsAutolog:
    """The callbacks of one action; :meth:`attach` adds them to a registry of Ultralytics' shape."""

    action: Any
    registry: Registry | None = None
    _trained_epoch: int | None = None
    _val_batches: int = 1
    _hooks: dict[str, Callable[[Any], None]] = field(default_factory=dict)

    def attach(self, registry: Registry) -> None:
        self.registry = registry
        # plain functions, not bound methods: Ultralytics deep-copies the registry into each trainer, and
        # deepcopy keeps a function as it is but copies a bound method's object (this action with it)
        self._hooks = {event: _function(getattr(self, event)) for event in ULTRALYTICS_EVENTS}
        for event, hook in self._hooks.items():
            registry.setdefault(event, []).append(hook)

    def detach(self) -> None:
        if self.registry is None:
            return
        for event, hook in self._hooks.items():
            callbacks = self.registry.get(event, [])
            if hook in callbacks:
                callbacks.remove(hook)
        self.registry = None

    # ------------------------------------------------------------------ trainer callbacks
    def on_train_epoch_end(self, trainer: Any) -> None:
        epoch, epochs = int(trainer.epoch) + 1, max(int(trainer.epochs), 1)
        self._trained_epoch = epoch
        self.action.set_progress(min(epoch, epochs), epochs, category='train')
        metrics: dict[str, float] = {'epoch': float(epoch)}
        tloss = getattr(trainer, 'tloss', None)
        if tloss is not None and hasattr(trainer, 'label_loss_items'):
            metrics.update(_numbers(trainer.label_loss_items(tloss, prefix='train')))
        metrics.update(_numbers(getattr(trainer, 'lr', None)))
        self.action.set_metrics(metrics, category='train')

    def on_fit_epoch_end(self, trainer: Any) -> None:
        epoch = int(trainer.epoch) + 1
        metrics = {'epoch': float(epoch), **_numbers(getattr(trainer, 'metrics', None))}
        self.action.set_progress(self._val_batches, self._val_batches, category='validation')
        if self._trained_epoch is not None and epoch != self._trained_epoch:
            # Ultralytics' last call: the best model's final evaluation, with epoch moved past the last one
            metrics.pop('epoch')
            self.action.set_metrics(metrics, category='final')
            return
        self.action.set_metrics(metrics, category='validation')

    def on_train_end(self, trainer: Any) -> None:
        epochs = max(int(trainer.epochs), 1)
        self.action.set_progress(epochs, epochs, category='train')
        paths = {name: str(getattr(trainer, name)) for name in ('best', 'last', 'save_dir') if hasattr(trainer, name)}
        self.action.log('train_end', {'epochs': epochs, **paths})

    # ------------------------------------------------------------------ validator callbacks
    def on_val_start(self, validator: Any) -> None:
        loader = getattr(validator, 'dataloader', None)
        try:
            batches = len(loader) if loader is not None else 1
        except TypeError:
            batches = 1
        self._val_batches = max(batches, 1)
        self.action.set_progress(0, self._val_batches, category='validation')


_ULTRALYTICS: list[UltralyticsAutolog] = []


def _ultralytics_registry() -> Registry:
    try:
        from ultralytics.utils.callbacks import base  # type: ignore[import-not-found, unused-ignore]
    except ImportError as exc:
        raise ImportError(
            "autolog('ultralytics'): the ultralytics package cannot be imported here "
            f'({exc}); install it in the plugin environment (pip install ultralytics), or report progress '
            'with set_progress() and metrics with set_metrics()'
        ) from exc
    registry: Registry = base.default_callbacks
    return registry


def enable_ultralytics(action: Any, registry: Registry | None = None) -> UltralyticsAutolog:
    """Hook ``action`` into ``registry`` (default: Ultralytics' ``default_callbacks``), replacing an earlier hook.

    ``registry`` may also be a model's or a trainer's ``callbacks`` dict, for one made before autolog.
    """
    target = _ultralytics_registry() if registry is None else registry
    _disable_ultralytics()
    hooks = UltralyticsAutolog(action)
    hooks.attach(target)
    _ULTRALYTICS.append(hooks)
    return hooks


def _disable_ultralytics() -> None:
    while _ULTRALYTICS:
        _ULTRALYTICS.pop().detach()


def _autolog_ultralytics(action: Any) -> None:
    enable_ultralytics(action)


register_autolog('ultralytics', _autolog_ultralytics, _disable_ultralytics)
