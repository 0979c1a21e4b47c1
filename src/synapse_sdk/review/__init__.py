"""The review page of ToTask runs: look at what a dry run proposes, approve or reject it, commit.

``create_review_app(client_factory)`` is a FastAPI app serving it (``synapse review RUN`` runs one on
127.0.0.1); ``create_review_router`` and ``mount_review`` add it to another app. Needs the ``local``
extra (FastAPI); importing this package loads none of it.
"""

from __future__ import annotations

from typing import Any

__all__ = ['ReviewService', 'create_review_app', 'create_review_router', 'mount_review', 'new_access_key']

_LAZY = {
    'ReviewService': 'synapse_sdk.review.service',
    'create_review_app': 'synapse_sdk.review.app',
    'create_review_router': 'synapse_sdk.review.app',
    'mount_review': 'synapse_sdk.review.app',
    'new_access_key': 'synapse_sdk.review.app',
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'synapse_sdk.review' has no attribute '{name}'")
