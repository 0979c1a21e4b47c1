"""When a request is tried again: one policy for every shell (httpx sync and async, the aiohttp bulk path).

An attempt ends either with a whole response (status, headers and the complete body: the body is
read inside the attempt, so a body cut off mid-way is a failed attempt, not a success) or with an
:class:`AttemptFailure` of one :class:`FailureKind`. What is retried:

- a connection that could not be opened (``NOT_SENT``), for every verb: nothing reached the server;
- for idempotent verbs (GET, HEAD, OPTIONS, PUT, DELETE): a connection lost before the answer
  (``LOST``), a read timeout (``READ_TIMEOUT``), a body cut off (``INCOMPLETE``) and the statuses
  429 (honouring ``Retry-After``), 502, 503, 504; for safe reads (GET, HEAD, OPTIONS) also 500;
- POST and PATCH never once sent: a repeated ``plugins/{code}/run/`` could deploy twice. With
  ``retry_writes=False`` PUT and DELETE are treated the same (except 429), for a caller that
  resolves an unanswered write itself.

Waits are jittered exponential backoff, capped per wait (``max_backoff``, ``max_retry_after``) and,
with a :class:`RetryBudget`, in total: a run that shares one budget across its requests stops
retrying once it has spent that many seconds waiting, however many requests fail.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum

from synapse_sdk.clients.base.call import safe_target
from synapse_sdk.exceptions import ClientConnectionError, ClientError, ClientTimeoutError

__all__ = [
    'IDEMPOTENT_METHODS',
    'SAFE_METHODS',
    'AttemptFailure',
    'Attempts',
    'FailureKind',
    'Reply',
    'RetryBudget',
    'RetryPolicy',
]

logger = logging.getLogger('synapse_sdk.clients')

SAFE_METHODS = frozenset({'GET', 'HEAD', 'OPTIONS'})
IDEMPOTENT_METHODS = SAFE_METHODS | {'PUT', 'DELETE'}


class FailureKind(StrEnum):
    """How an attempt ended without a whole response."""

    NOT_SENT = 'not_sent'  #: the connection could not be opened (refused, connect timeout): nothing was sent
    LOST = 'lost'  #: the connection closed or was reset before the answer came
    READ_TIMEOUT = 'read_timeout'  #: no answer within the read timeout
    INCOMPLETE = 'incomplete'  #: the answer's body was cut off


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole response: status, the headers the client reads, the complete body."""

    status: int
    content: bytes
    content_type: str = ''
    retry_after: str | None = None
    encoding: str | None = None


class AttemptFailure(Exception):
    """An attempt that ended without a whole response; ``reason`` names the transport's error class."""

    def __init__(self, kind: FailureKind, reason: str) -> None:
        super().__init__(f'{kind.value}: {reason}')
        self.kind = kind
        self.reason = reason

    def to_client_error(self, method: str, url: str) -> ClientError:
        """The error the caller sees once no attempt is left (no query string, no credential)."""
        target = f'{method} {safe_target(url)}'
        if self.kind is FailureKind.READ_TIMEOUT:
            return ClientTimeoutError(408, f'Request timed out: {target}')
        if self.kind is FailureKind.INCOMPLETE:
            return ClientConnectionError(0, f'Incomplete response body ({self.reason}): {target}', kind='incomplete')
        kind = 'refused' if self.kind is FailureKind.NOT_SENT else 'reset'
        return ClientConnectionError(0, f'Could not connect ({self.reason}): {target}', kind=kind)


class RetryBudget:
    """Seconds of waiting between retries that many requests share (thread-safe); spent, nothing is retried."""

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self._left = float(seconds)
        self._lock = threading.Lock()

    @property
    def left(self) -> float:
        with self._lock:
            return self._left

    def spend(self, seconds: float) -> bool:
        """Take ``seconds`` from the budget; False (and nothing taken) when less is left."""
        with self._lock:
            if seconds > self._left:
                self._left = 0.0  # spent: no request under it waits again
                return False
            self._left -= seconds
            return True

    def __repr__(self) -> str:
        return f'RetryBudget(seconds={self.seconds}, left={self.left:.2f})'


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts (including the first), how long to wait between them, and what is worth retrying."""

    attempts: int = 4
    backoff: float = 0.5  #: first delay, doubled each attempt, with full jitter
    max_backoff: float = 8.0
    max_retry_after: float = 60.0  #: longest ``Retry-After`` honoured
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})  #: retried for idempotent verbs
    read_statuses: frozenset[int] = frozenset({500})  #: retried in addition for safe reads (GET, HEAD, OPTIONS)
    #: False: a PUT or DELETE is repeated only when it surely did not run (not sent, or 429), so a caller can
    #: first read back whether an unanswered write took effect (ToTask does) instead of writing twice
    retry_writes: bool = True
    #: total seconds of waiting shared by every request under this policy (None: only ``attempts`` bounds it)
    budget: RetryBudget | None = field(default=None, compare=False)
    #: how the sync shell waits between attempts (swap it to observe or skip the waits)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    #: how the async shells wait between attempts
    async_sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False, repr=False)

    def should_retry(self, method: str, outcome: Reply | BaseException) -> bool:
        """Whether an attempt that ended with ``outcome`` is worth another one (attempts and budget aside)."""
        method = method.upper()
        retried = SAFE_METHODS if not self.retry_writes else IDEMPOTENT_METHODS
        if isinstance(outcome, Reply):
            if method in SAFE_METHODS and outcome.status in self.read_statuses:
                return True
            if outcome.status == 429:  # refused before it ran
                return method in IDEMPOTENT_METHODS
            return method in retried and outcome.status in self.statuses
        if not isinstance(outcome, AttemptFailure):
            return False  # e.g. a body over the caller's byte limit: another attempt changes nothing
        return outcome.kind is FailureKind.NOT_SENT or method in retried

    def delay(self, attempt: int, outcome: Reply | BaseException | None) -> float:
        """The wait before attempt ``attempt + 1``: ``Retry-After`` of a 429 (capped), else full jitter."""
        if isinstance(outcome, Reply) and outcome.status == 429 and outcome.retry_after is not None:
            try:
                return min(max(float(outcome.retry_after), 0.0), self.max_retry_after)
            except ValueError:
                pass
        cap = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(0, cap)

    def with_budget(self, budget: RetryBudget | None, *, retry_writes: bool | None = None) -> RetryPolicy:
        """This policy with ``budget`` shared by every request made under it (and ``retry_writes`` if given)."""
        return replace(self, budget=budget, retry_writes=self.retry_writes if retry_writes is None else retry_writes)

    def schedule(self, method: str, url: str) -> Attempts:
        """The retry schedule of one request (see :class:`Attempts`)."""
        return Attempts(self, method, url)

    def run(self, method: str, url: str, attempt: Callable[[], Reply]) -> Reply:
        """``attempt()`` until its outcome is final; the last :class:`Reply`, or the error of the last failure."""
        attempts = self.schedule(method, url)
        while True:
            try:
                outcome: Reply | AttemptFailure = attempt()
            except AttemptFailure as failure:
                outcome = failure
            wait = attempts.wait_after(outcome)
            if wait is None:
                return attempts.final(outcome)
            self.sleep(wait)

    async def run_async(self, method: str, url: str, attempt: Callable[[], Awaitable[Reply]]) -> Reply:
        """As :meth:`run`, awaiting each attempt and wait (``async_sleep``)."""
        attempts = self.schedule(method, url)
        while True:
            try:
                outcome: Reply | AttemptFailure = await attempt()
            except AttemptFailure as failure:
                outcome = failure
            wait = attempts.wait_after(outcome)
            if wait is None:
                return attempts.final(outcome)
            await self.async_sleep(wait)


class Attempts:
    """One request's attempts under a policy. After each attempt, :meth:`wait_after` says how long to wait
    before the next one, or None: the outcome stands (returned, or raised as it is).

    Every shell drives the same loop::

        attempts = policy.schedule(method, url)
        while True:
            outcome = <one attempt: a Reply, or the AttemptFailure it raised>
            wait = attempts.wait_after(outcome)
            if wait is None:
                break
            sleep(wait)
    """

    __slots__ = ('method', 'number', 'policy', 'url')

    def __init__(self, policy: RetryPolicy, method: str, url: str) -> None:
        self.policy = policy
        self.method = method.upper()
        self.url = url
        self.number = 0  #: attempts made so far

    def wait_after(self, outcome: Reply | BaseException) -> float | None:
        """Seconds to wait before the next attempt, or None when ``outcome`` is final."""
        self.number += 1
        policy = self.policy
        if self.number >= policy.attempts or not policy.should_retry(self.method, outcome):
            return None
        wait = policy.delay(self.number, outcome)
        if policy.budget is not None and not policy.budget.spend(wait):
            logger.warning('Not retrying: the run has spent its retry budget of %.0f s', policy.budget.seconds)
            return None
        reason = outcome.reason if isinstance(outcome, AttemptFailure) else getattr(outcome, 'status', '')
        logger.warning(
            'Retrying %s %s after %s (attempt %d of %d)',
            self.method,
            safe_target(self.url),
            reason or type(outcome).__name__,
            self.number + 1,
            policy.attempts,
        )
        return wait

    def final(self, outcome: Reply | AttemptFailure) -> Reply:
        """The reply to return, or the ClientError of a failure, raised."""
        if isinstance(outcome, AttemptFailure):
            raise outcome.to_client_error(self.method, self.url) from outcome
        return outcome
