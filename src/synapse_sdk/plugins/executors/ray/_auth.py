"""Ray token authentication: finding this machine's token, connecting with it, explaining refusals.

Recent Ray versions turn token authentication on for ``ray start --head`` and ``ray.init()`` (the
token is written to ``~/.ray/auth_token``). A client then needs the token *and* ``RAY_AUTH_MODE=token``
for ``ray.init(address=...)``; the Jobs API only needs the ``Authorization`` header. A cluster without
token authentication ignores both, so sending the token whenever one is available works everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ['TOKEN_FIX', 'auth_failure_hint', 'auth_headers', 'init_ray', 'is_auth_failure', 'token_source']

#: How to give this machine the cluster's token.
TOKEN_FIX = (
    "set RAY_AUTH_TOKEN to the cluster's token or save it in ~/.ray/auth_token "
    '(`ray get-auth-token` on the head node prints it)'
)
_REFUSALS = ('InvalidAuthToken', 'Missing authentication token', 'Authentication token is missing', 'Unauthenticated')


def _token_file(environ: Mapping[str, str]) -> Path:
    path = environ.get('RAY_AUTH_TOKEN_PATH')
    return Path(path) if path else Path(environ.get('HOME') or Path.home()) / '.ray' / 'auth_token'


def _read(file: Path) -> str | None:
    try:
        return file.read_text(encoding='utf-8').strip() or None
    except OSError:
        return None


def token_source(environ: Mapping[str, str] | None = None) -> str | None:
    """Where this process's Ray token comes from (``RAY_AUTH_TOKEN`` or the token file's path), or None."""
    env = os.environ if environ is None else environ
    if (env.get('RAY_AUTH_TOKEN') or '').strip():
        return 'RAY_AUTH_TOKEN'
    file = _token_file(env)
    return str(file) if _read(file) else None


def read_token(environ: Mapping[str, str] | None = None) -> str | None:
    """The token from ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH`` or ``~/.ray/auth_token``, or None."""
    env = os.environ if environ is None else environ
    token = (env.get('RAY_AUTH_TOKEN') or '').strip()
    return token or _read(_token_file(env))


def auth_headers(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``Authorization: Bearer <token>`` when a token is available (none with ``RAY_AUTH_MODE=disabled``)."""
    env = os.environ if environ is None else environ
    if env.get('RAY_AUTH_MODE', '').lower() == 'disabled':
        return {}
    token = read_token(env)
    return {'Authorization': f'Bearer {token}'} if token else {}


def is_auth_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is Ray refusing this client's token."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == 'AuthenticationError' or any(text in str(current) for text in _REFUSALS):
            return True
        current = current.__cause__ or current.__context__
    return False


def auth_failure_hint(environ: Mapping[str, str] | None = None) -> str:
    """Why the cluster refused this client and how to fix it (never the token itself)."""
    env = os.environ if environ is None else environ
    uses = 'the cluster uses Ray token authentication'
    if env.get('RAY_AUTH_MODE', '').lower() == 'disabled':
        return f'{uses} but RAY_AUTH_MODE=disabled is set here: unset it and {TOKEN_FIX}'
    source = token_source(env)
    if source is None:
        return f'{uses} and no token was found on this machine: {TOKEN_FIX}'
    return f"{uses} and refused the token from {source}: use the cluster's token ({TOKEN_FIX})"


def _refresh_ray_config(ray: Any) -> None:
    """Ray caches the auth mode it read from the environment; re-read it (what ``ray`` itself does)."""
    config = getattr(getattr(ray, '_raylet', None), 'Config', None)
    if config is not None and hasattr(config, 'initialize'):
        config.initialize('')


def init_ray(ray: Any, address: str | None, **kwargs: Any) -> None:
    """``ray.init(address, ...)`` in token mode when this machine has a token and ``RAY_AUTH_MODE`` is unset.

    Ray enables token mode by itself only for ``address='auto'``; for an explicit address it would
    connect without the token and a token-protected cluster refuses it after ~20 s. ``RAY_AUTH_MODE``
    is set only for the connection (the process environment is left as it was, so it is not
    forwarded to workers of clusters that do not use tokens).
    """
    use_token = 'RAY_AUTH_MODE' not in os.environ and token_source() is not None
    if use_token:
        os.environ['RAY_AUTH_MODE'] = 'token'
        _refresh_ray_config(ray)
    try:
        ray.init(address=address, **kwargs)
    except BaseException:
        if use_token:
            os.environ.pop('RAY_AUTH_MODE', None)
            _refresh_ray_config(ray)
        raise
    if use_token:
        os.environ.pop('RAY_AUTH_MODE', None)
