"""``BulkSession``: the backend's resource methods as coroutines over a bulk sender, for many concurrent calls.

The same surface as :class:`~synapse_sdk.clients.backend.client.AsyncBackendClient` (the same
request builders and parsers: ``session.tasks.get(...)``, ``session.annotate_task_data(...)``,
``session.data_files.download(url, max_bytes=...)``), sent by the client's bulk sender
(:mod:`synapse_sdk.clients.base.bulk`). Use it as an async context manager on one event loop::

    async with client.bulk_session(32) as session:
        tasks = await asyncio.gather(*(session.get_task(i) for i in ids))
"""

from __future__ import annotations

from typing import Any

from synapse_sdk.clients.backend.surface import BackendSurface
from synapse_sdk.clients.base.bulk import BulkSender
from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.client import AsyncCalls

__all__ = ['BulkSession']


class BulkSession(BackendSurface, AsyncCalls):
    """Every resource method of the backend client, each a coroutine; at most ``width`` requests at once."""

    def __init__(self, sender: BulkSender, base_url: str) -> None:
        self.base_url = base_url
        self._sender = sender
        self._mount(self)

    @property
    def width(self) -> int:
        return self._sender.width

    @property
    def kind(self) -> str:
        """How requests are sent: ``aiohttp`` or ``threads``."""
        return self._sender.kind

    async def _send(self, call: Call) -> Any:
        return await self._sender.send(call)

    async def aclose(self) -> None:
        await self._sender.aclose()

    async def __aenter__(self) -> BulkSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f'BulkSession({self.base_url!r}, {type(self._sender).__name__}, width={self.width})'
