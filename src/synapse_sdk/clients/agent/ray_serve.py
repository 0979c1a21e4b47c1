"""What an agent asks of its Ray cluster over HTTP: the dashboard's REST API and the Serve applications' routes.

- :class:`RayDashboardClient`: ``GET /api/serve/applications/`` (every application's status, its
  deployments' status messages and replicas), ``GET /api/v0/nodes`` (each node's resource totals).
- :class:`ServeAppClient`: a request to a running application through Serve's HTTP proxy, with the
  multiplexed model id header; an error of the application comes back as a ``ClientError`` with its
  message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from synapse_sdk.clients.base.call import Call
from synapse_sdk.clients.base.client import HTTPClient
from synapse_sdk.clients.base.retry import RetryPolicy

__all__ = ['MODEL_ID_HEADER', 'RayDashboardClient', 'ServeAppClient']

MODEL_ID_HEADER = 'serve_multiplexed_model_id'


def _body(body: Any) -> Any:
    return body


class RayDashboardClient(HTTPClient):
    """The Ray dashboard's REST API; ``headers``: the cluster's auth (``Authorization: Bearer <Ray token>``)."""

    def __init__(self, dashboard_url: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(dashboard_url, dict(headers or {}), timeout=httpx.Timeout(10.0, connect=3.0))

    def serve_applications(self) -> dict[str, Any]:
        """``{name: {status, message, route_prefix, deployments: {name: {status, message, replicas}}}}``."""
        body = self._call(Call('GET', 'api/serve/applications/'), _body)
        apps = body.get('applications') if isinstance(body, dict) else None
        return apps if isinstance(apps, dict) else {}

    def serve_http_port(self) -> int | None:
        """The port Serve's HTTP proxy listens on (None: Serve is not running)."""
        body = self._call(Call('GET', 'api/serve/applications/'), _body)
        options = body.get('http_options') if isinstance(body, dict) else None
        port = options.get('port') if isinstance(options, dict) else None
        return int(port) if isinstance(port, int) else None

    def node_totals(self) -> list[dict[str, float]]:
        """Each alive node's resource totals (``CPU``, ``GPU``, ``memory`` ...)."""
        body = self._call(Call('GET', 'api/v0/nodes', params={'detail': '1', 'limit': '1000'}), _body)
        data = body.get('data', {}) if isinstance(body, dict) else {}
        rows = data.get('result', {}).get('result', []) if isinstance(data, dict) else []
        return [
            {str(k): float(v) for k, v in (row.get('resources_total') or {}).items()}
            for row in rows
            if isinstance(row, dict) and row.get('state') == 'ALIVE'
        ]


class ServeAppClient(HTTPClient):
    """Requests to Serve applications through the HTTP proxy at ``proxy_url``; a POST is never repeated once sent."""

    def __init__(self, proxy_url: str, *, read_timeout: float = 300.0) -> None:
        super().__init__(proxy_url, {}, timeout=httpx.Timeout(read_timeout, connect=3.0), retry=RetryPolicy(attempts=2))

    def post(self, route: str, body: Any, *, model_id: str | None = None) -> Any:
        """``POST <route>`` with ``body`` as JSON; the application's JSON answer."""
        headers = {MODEL_ID_HEADER: model_id} if model_id else {}
        return self._call(Call('POST', route.lstrip('/'), json=body, headers=headers), _body)
