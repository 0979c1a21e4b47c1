"""The checks of ``synapse doctor`` about this machine: the Ray cluster, the local backend's state, Chromium.

Bounded like the others (:mod:`synapse_sdk.cli._doctor_checks`): the Ray probe waits
:data:`RAY_TIMEOUT` at most, the server record's health probe 2 s; a stale ``server.json`` is reported,
not removed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

from synapse_sdk.cli._doctor_checks import Check, Context, Status
from synapse_sdk.clients.credentials import shown_url

__all__ = ['check_chromium', 'check_local', 'check_ray', 'ray_auth_mode']


def ray_auth_mode() -> str:
    """This machine's side of Ray's token authentication (the token itself is never shown)."""
    from synapse_sdk.plugins.executors.ray._auth import token_source as ray_token_source

    if os.environ.get('RAY_AUTH_MODE', '').lower() == 'disabled':
        return 'token authentication off here (RAY_AUTH_MODE=disabled)'
    source = ray_token_source()
    if source is not None:
        return f'token authentication with the token from {source}'
    return 'no Ray token on this machine (a cluster with token authentication would refuse this client)'


def _ray_targets() -> tuple[str | None, str | None]:
    """``(GCS address, Jobs API URL)`` from the environment (``auto`` and unset: None)."""
    gcs = os.environ.get('RAY_ADDRESS', '').strip()
    dashboard = (os.environ.get('RAY_API_SERVER_ADDRESS') or os.environ.get('RAY_DASHBOARD_ADDRESS') or '').strip()
    if gcs.startswith(('http://', 'https://')):  # RAY_ADDRESS given as the Jobs API URL
        gcs, dashboard = '', dashboard or gcs
    return (gcs if gcs and gcs != 'auto' else None), (dashboard or None)


def _probe_gcs(address: str, timeout: float) -> tuple[str, str] | None:
    """``(problem, fix)`` unless Ray's GCS answers at ``address`` within ``timeout``."""
    from synapse_sdk.exceptions import ExecutorError
    from synapse_sdk.plugins.executors.ray._connect import _HOW, check_reachable

    if importlib.util.find_spec('ray') is None:
        return f'RAY_ADDRESS={address}, but Ray is not installed', "pip install 'synapse-sdk[ray]'"
    try:
        check_reachable(address, timeout)
    except ExecutorError as exc:
        return str(exc).replace(f'. {_HOW}', ''), _HOW[0].lower() + _HOW[1:]
    return None


def _probe_jobs_api(url: str, timeout: float) -> tuple[str, str] | None:
    """``(problem, fix)`` unless the Ray dashboard at ``url`` answers ``/api/version`` to this machine's token."""
    import httpx

    from synapse_sdk.plugins.executors.ray._auth import auth_failure_hint, auth_headers

    shown = shown_url(url)
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as http:
            answer = http.get(f'{url.rstrip("/")}/api/version', headers=auth_headers())
    except httpx.TimeoutException:
        return f'the Ray Jobs API at {shown} did not answer within {timeout:g} s', _JOBS_FIX
    except httpx.HTTPError as exc:
        return f'the Ray Jobs API at {shown} cannot be reached ({type(exc).__name__})', _JOBS_FIX
    if answer.status_code in (401, 403):
        hint = auth_failure_hint()
        problem, _, fix = hint.partition(': ')
        return f'the Ray Jobs API at {shown} refused this client ({answer.status_code}): {problem}', fix or hint
    if answer.status_code != 200:
        return f'the Ray Jobs API at {shown} answered {answer.status_code} to /api/version', _JOBS_FIX
    return None


_JOBS_FIX = 'start a cluster with `ray start --head` and set RAY_API_SERVER_ADDRESS to its dashboard URL'


def check_ray(ctx: Context) -> Check:
    gcs, dashboard = _ray_targets()
    auth = ray_auth_mode()
    if gcs is None and dashboard is None:
        shown = 'RAY_ADDRESS=auto' if os.environ.get('RAY_ADDRESS', '').strip() == 'auto' else 'RAY_ADDRESS is not set'
        return Check(
            name='ray',
            status=Status.WARN,
            detail=f'not checked: {shown}; auth: {auth}',
            fix='set RAY_ADDRESS=host:port to check a cluster (without one, Ray runs start a local cluster)',
        )
    answered = []
    for target, probe in ((gcs, _probe_gcs), (dashboard, _probe_jobs_api)):
        if target is None:
            continue
        problem = probe(target, ctx.ray_timeout)
        if problem is not None:
            return Check(name='ray', status=Status.FAIL, detail=problem[0], fix=problem[1])
        answered.append(target if probe is _probe_gcs else f'the Jobs API at {shown_url(target)}')
    verb = 'answers' if len(answered) == 1 else 'answer'
    return Check(name='ray', status=Status.PASS, detail=f'{" and ".join(answered)} {verb} as Ray; auth: {auth}')


def check_local(ctx: Context) -> Check:
    try:
        from synapse_sdk.local.paths import LocalPaths
        from synapse_sdk.local.server_record import check_server
    except ImportError:
        return Check(
            name='local',
            status=Status.WARN,
            detail='the local backend is not installed',
            fix="pip install 'synapse-sdk[local]'",
        )
    paths = LocalPaths.resolve()
    if not paths.database.exists():
        if ctx.host is None:
            return Check(
                name='local',
                status=Status.FAIL,
                detail=f'{paths.root} is not initialised',
                fix='run `synapse local init`',
            )
        return Check(
            name='local',
            status=Status.PASS,
            detail=f'{paths.root} is not initialised (not needed: the backend is {shown_url(ctx.host)})',
        )
    found = ctx.server or check_server(paths, clear=False, log=False)
    record = found.record
    if found.state == 'running' and record is not None:
        return Check(
            name='local',
            status=Status.PASS,
            detail=f'{paths.root} is initialised; `synapse local serve` runs at {record.url} (pid {record.pid})',
        )
    if found.state == 'none':
        note = f' ({found.reason})' if found.reason else ''
        return Check(
            name='local', status=Status.PASS, detail=f'{paths.root} is initialised; no `synapse local serve` runs{note}'
        )
    if found.state == 'busy':
        return Check(
            name='local',
            status=Status.WARN,
            detail=f'{paths.root} is initialised; its server does not answer: {found.reason}',
            fix='restart `synapse local serve`',
        )
    return Check(
        name='local',
        status=Status.WARN,
        detail=f'{paths.root} is initialised; {paths.server_file} is stale: {found.reason}',
        fix='`synapse local status` removes the record; `synapse local serve` starts a server',
    )


def check_chromium(ctx: Context) -> Check:
    for candidate in ctx.chromium:
        found = shutil.which(candidate)
        if found:
            return Check(
                name='chromium',
                status=Status.PASS,
                detail=f"{found} is installed (the review page's browser tests use it)",
            )
    return Check(
        name='chromium',
        status=Status.WARN,
        detail=f"not found (looked for {', '.join(ctx.chromium)}); the review page's browser tests need it",
        fix='install it (`apt-get install -y chromium`); the review page itself opens in any browser',
    )
