"""Waiting for a task-mode actor to start, and failing clearly when the cluster cannot hold it.

Ray keeps an actor whose resources no node has pending forever (an autoscaler may add a node).
:func:`await_start` waits for the actor's first call, checks every second whether some node of
the cluster has every resource asked, and gives up after ``placement_timeout`` seconds of "no node
can hold it" or ``start_timeout`` seconds overall (placement plus runtime env setup).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from synapse_sdk.exceptions import ExecutorError

__all__ = ['DEFAULT_PLACEMENT_TIMEOUT', 'DEFAULT_START_TIMEOUT', 'await_start', 'unplaceable']

#: Seconds an actor may ask for more than any node has before the call fails (time for an autoscaler).
DEFAULT_PLACEMENT_TIMEOUT = 30.0
#: Seconds an actor may take to be placed and set up (Ray's own runtime env setup limit is 600 s).
DEFAULT_START_TIMEOUT = 900.0

#: Executor option -> Ray resource name.
_RESOURCE_NAMES = {'num_cpus': 'CPU', 'num_gpus': 'GPU', 'memory': 'memory'}


def _number(value: float) -> str:
    return f'{value:g}'


def _amount(resource: str, value: float) -> str:
    return f'{value / 2**30:.3g} GiB' if resource == 'memory' else _number(value)


def unplaceable(nodes: list[Mapping[str, Any]], asked: Mapping[str, float | None]) -> str | None:
    """None when some alive node has every resource asked (in total), else what is missing.

    ``asked`` uses the executor's option names (``num_cpus``, ``num_gpus``, ``memory``); ``nodes``
    is ``ray.nodes()``.
    """
    wanted = {option: float(v) for option, v in asked.items() if v and option in _RESOURCE_NAMES}
    if not wanted:
        return None
    alive = [node.get('Resources') or {} for node in nodes if node.get('Alive', True)]
    for resources in alive:
        if all(float(resources.get(_RESOURCE_NAMES[o], 0)) >= v for o, v in wanted.items()):
            return None
    totals = {
        name: sum(float(r.get(name, 0)) for r in alive) for name in dict.fromkeys(_RESOURCE_NAMES[o] for o in wanted)
    }
    asks = ', '.join(f'{option}={_amount(option, value)}' for option, value in wanted.items())
    have = ', '.join(f'{name} {_amount(name, total)}' for name, total in totals.items())
    return f'it asks {asks}, and no node of the cluster has that (cluster totals: {have})'


def await_start(
    ray: Any,
    ref: Any,
    *,
    label: str,
    asked: Mapping[str, float | None],
    placement_timeout: float,
    start_timeout: float | None,
) -> None:
    """Wait for ``ref`` (the actor's first call); raise ExecutorError when it cannot or did not start."""
    started = time.monotonic()
    unplaced_since: float | None = None
    wait = 0.5
    while True:
        ready, _ = ray.wait([ref], timeout=wait)
        if ready:
            ray.get(ref)
            return
        wait = 1.0
        now = time.monotonic()
        problem = unplaceable(ray.nodes(), asked)
        unplaced_since = None if problem is None else (unplaced_since or now)
        if problem is not None and unplaced_since is not None and now - unplaced_since >= placement_timeout:
            raise ExecutorError(
                f"The Ray actor for action '{label}' cannot be placed: {problem}; "
                f'gave up after {_number(placement_timeout)} s. '
                'Ask for less (num_cpus / num_gpus / memory) or add a node that has it'
            )
        if start_timeout is not None and now - started >= start_timeout:
            raise ExecutorError(
                f"The Ray actor for action '{label}' did not start within {_number(start_timeout)} s "
                '(the cluster is busy or the runtime environment is still being installed); '
                'raise start_timeout or free resources'
            )
