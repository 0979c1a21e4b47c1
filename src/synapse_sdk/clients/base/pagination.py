"""Following DRF pages, as a pure state machine that a sync or an async client drives."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any
from urllib.parse import urljoin, urlsplit

from synapse_sdk.clients.base.call import Call
from synapse_sdk.exceptions import ClientError

__all__ = ['PageFlow', 'collect_pages']


class PageFlow:
    """``next_call`` is the request to send (None when done); ``accept(body)`` returns that page's items.

    ``next`` links are followed only on the base URL's scheme and host: anything else stops the
    listing with a :class:`ClientError`, so a credentialed request never goes to another host.
    """

    def __init__(self, base_url: str, first: Call) -> None:
        self.base_url = base_url
        self.next_call: Call | None = first
        self.count: int | None = None
        self._origin = _origin(base_url)

    def accept(self, body: Any) -> list[Any]:
        if isinstance(body, list):
            self.next_call = None
            if self.count is None:
                self.count = len(body)
            return body
        if not isinstance(body, dict) or not isinstance(body.get('results'), list):
            self.next_call = None
            raise ClientError(200, 'Unexpected list response: expected a page with "results" or a JSON list')
        if self.count is None:
            count = body.get('count')
            self.count = count if isinstance(count, int) else len(body['results'])
        self.next_call = self._follow(body.get('next'))
        return body['results']

    def _follow(self, link: Any) -> Call | None:
        if not link:
            return None
        url = urljoin(self.base_url, str(link))
        if _origin(url) != self._origin:
            host = urlsplit(url).hostname or '?'
            raise ClientError(
                200, f"Refusing to follow pagination link to another host ('{host}'); expected {self._origin[1]}"
            )
        return Call('GET', url)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    default = {'http': 80, 'https': 443}.get(parts.scheme)
    return parts.scheme, f'{parts.hostname}:{parts.port or default}'


def collect_pages(base_url: str, first: Call) -> Generator[Call, Any, list[Any]]:
    """A flow step: every item of every page of a listing (``items = yield from collect_pages(...)``)."""
    pages = PageFlow(base_url, first)
    items: list[Any] = []
    while pages.next_call is not None:
        items.extend(pages.accept((yield pages.next_call)))
    return items
