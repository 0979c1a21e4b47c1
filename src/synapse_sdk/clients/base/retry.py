"""Bounded retries with jittered backoff, as httpx transports wrapping any other transport.

Retried: a connection that could not be opened (any verb: nothing was sent); for idempotent
verbs (GET, HEAD, OPTIONS, PUT, DELETE) also a connection lost mid-request and the statuses
429 (honouring ``Retry-After``), 502, 503, 504. POST and PATCH are never repeated once sent:
a repeated ``plugins/{code}/run/`` could deploy twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, stop_after_attempt

from synapse_sdk.clients.base.call import safe_target

__all__ = ['IDEMPOTENT_METHODS', 'AsyncRetryTransport', 'RetryPolicy', 'RetryTransport']

logger = logging.getLogger('synapse_sdk.clients')

IDEMPOTENT_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_LOST = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts (including the first) and how long to wait between them."""

    attempts: int = 4
    backoff: float = 0.5  #: first delay, doubled each attempt, with full jitter
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  #: longest ``Retry-After`` honoured
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    #: how the sync transport waits between attempts (swap it to observe or skip the waits)
    sleep: Callable[[float], object] = field(default=time.sleep, compare=False, repr=False)
    #: how the async transport waits between attempts
    async_sleep: Callable[[float], Awaitable[object]] = field(default=asyncio.sleep, compare=False, repr=False)

    def should_retry(self, method: str, outcome: httpx.Response | BaseException) -> bool:
        if isinstance(outcome, BaseException):
            if isinstance(outcome, _NOT_SENT):
                return True
            return method in IDEMPOTENT_METHODS and isinstance(outcome, _LOST)
        return method in IDEMPOTENT_METHODS and outcome.status_code in self.statuses

    def delay(self, attempt: int, outcome: httpx.Response | BaseException | None) -> float:
        if isinstance(outcome, httpx.Response) and outcome.status_code == 429:
            retry_after = outcome.headers.get('retry-after', '')
            try:
                return min(max(float(retry_after), 0.0), self.max_retry_after)
            except ValueError:
                pass
        cap = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(0, cap)

    def tenacity_kwargs(self, request: httpx.Request) -> dict[str, Any]:
        """The same policy for :class:`tenacity.Retrying` and :class:`tenacity.AsyncRetrying`."""
        method = request.method.upper()

        def outcome_of(state: RetryCallState) -> httpx.Response | BaseException | None:
            if state.outcome is None:
                return None
            return state.outcome.exception() or state.outcome.result()

        def retry(state: RetryCallState) -> bool:
            outcome = outcome_of(state)
            return outcome is not None and self.should_retry(method, outcome)

        def wait(state: RetryCallState) -> float:
            return self.delay(state.attempt_number, outcome_of(state))

        def before_sleep(state: RetryCallState) -> None:
            outcome = outcome_of(state)
            reason = (
                type(outcome).__name__ if isinstance(outcome, BaseException) else getattr(outcome, 'status_code', '')
            )
            logger.warning(
                'Retrying %s %s after %s (attempt %d of %d)',
                method,
                safe_target(str(request.url)),
                reason,
                state.attempt_number + 1,
                self.attempts,
            )

        def give_up(state: RetryCallState) -> Any:
            return state.outcome.result() if state.outcome else None  # re-raises a final exception

        return {
            'retry': retry,
            'wait': wait,
            'stop': stop_after_attempt(max(1, self.attempts)),
            'before_sleep': before_sleep,
            'retry_error_callback': give_up,
        }


class RetryTransport(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()

    def _attempt(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if response.status_code in self.policy.statuses:
            response.read()  # frees the connection if it is retried; the body stays readable
        return response

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retrying = Retrying(sleep=self.policy.sleep, **self.policy.tenacity_kwargs(request))
        return retrying(self._attempt, request)

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()

    async def _attempt(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if response.status_code in self.policy.statuses:
            await response.aread()
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retrying = AsyncRetrying(sleep=self.policy.async_sleep, **self.policy.tenacity_kwargs(request))
        return await retrying(self._attempt, request)

    async def aclose(self) -> None:
        await self.inner.aclose()
