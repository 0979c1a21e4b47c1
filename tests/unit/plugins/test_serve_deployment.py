"""BaseServeDeployment's own logic, without Serve: batches that fail, health, missing hooks and backend.

The same class on real Ray Serve is covered by ``tests/integration/serving/``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from synapse_sdk.exceptions import ExecutionError
from synapse_sdk.plugins.actions.inference import BaseServeDeployment


class Doubler(BaseServeDeployment):
    """Doubles ``value``; a negative value is a bad input. Counts the ``infer`` calls."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__('http://127.0.0.1:9/', **kwargs)
        self.calls: list[int] = []

    async def _get_model(self, model_info: dict[str, Any]) -> Any:
        return None

    async def infer(self, inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls.append(len(inputs))
        if any(item['value'] < 0 for item in inputs):
            raise ValueError('negative value')
        return [{'double': item['value'] * 2} for item in inputs]


def test_a_batch_that_succeeds_is_one_infer_call():
    server = Doubler()
    assert asyncio.run(server._infer_batch([{'value': 1}, {'value': 2}])) == [{'double': 2}, {'double': 4}]
    assert server.calls == [2]


def test_a_batch_that_raises_is_rerun_item_by_item_so_only_the_bad_item_fails():
    from synapse_sdk.plugins.actions.inference.serve import _ItemFailure

    server = Doubler()
    outcomes = asyncio.run(server._infer_batch([{'value': 1}, {'value': -1}, {'value': 3}]))
    assert outcomes[0] == {'double': 2} and outcomes[2] == {'double': 6}
    assert isinstance(outcomes[1], _ItemFailure) and str(outcomes[1].error) == 'negative value'
    assert server.calls == [3, 1, 1, 1]


def test_a_batch_of_one_that_raises_raises_at_once():
    server = Doubler()
    with pytest.raises(ValueError, match='negative value'):
        asyncio.run(server._infer_batch([{'value': -1}]))
    assert server.calls == [1]


def test_without_batching_predict_is_infer_of_one_item():
    server = Doubler()
    assert asyncio.run(server.predict({'value': 4})) == {'double': 8}
    with pytest.raises(ValueError, match='negative value'):
        asyncio.run(server.predict({'value': -4}))


def test_a_model_that_cannot_load_fails_the_constructor_and_then_health():
    class NoBackend(Doubler):
        def __init__(self) -> None:
            BaseServeDeployment.__init__(self, model_id=7)

    with pytest.raises(ExecutionError, match='Model 7 did not load: ExecutionError: NoBackend has no backend'):
        NoBackend()


def test_health_fails_while_the_model_did_not_load():
    server = Doubler()
    server.check_health()
    server._load_error = 'Model 3 did not load: ValueError: bad weights'
    with pytest.raises(ExecutionError, match='Model 3 did not load'):
        server.check_health()


def test_the_hooks_to_override_say_so():
    bare = BaseServeDeployment('http://127.0.0.1:9/')
    with pytest.raises(NotImplementedError, match=r'must override async _get_model\(model_info\)'):
        asyncio.run(bare._get_model({}))
    with pytest.raises(NotImplementedError, match=r'must override async infer\(inputs\)'):
        asyncio.run(bare.infer([]))


def test_the_token_is_not_in_the_repr():
    server = Doubler(access_token='secret-token-123')
    assert 'secret-token-123' not in repr(server)
