"""The checks of ``synapse doctor`` about configuration: the config file, the backend, an agent.

Each check answers one :class:`Check` (status, what was found, the fix); the machine's checks (Ray,
local state, Chromium) are in :mod:`synapse_sdk.cli._doctor_machine`. Every check is bounded: HTTP
probes try once (connect 2 s, read 3 s, at most two per check), the Ray probe waits :data:`RAY_TIMEOUT`
at most, the server record's health probe 2 s. Nothing changes state: a stale ``server.json`` is
reported, not removed, and no state directory is created.

Statuses: ``fail`` makes doctor exit 1; ``warn`` works but is worth a look (no Ray address to check,
no Chromium, no config file); ``skip``: not checked because a check it needs failed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from synapse_sdk.cli._agents import PROBE_RETRY, PROBE_TIMEOUT, agent_access, probe_health
from synapse_sdk.clients.credentials import (
    config_path,
    read_config,
    resolve_credentials,
    same_host,
    shown_url,
    token_source,
)

if TYPE_CHECKING:
    from synapse_sdk.clients.backend.client import BackendClient
    from synapse_sdk.local.server_record import ServerStatus

__all__ = [
    'CHROMIUM_CANDIDATES',
    'RAY_TIMEOUT',
    'Check',
    'Context',
    'Status',
    'check_agent',
    'check_backend',
    'check_config',
]

#: Seconds the Ray check waits for each of the cluster's GCS port and Jobs API to answer.
RAY_TIMEOUT = 4.0
#: Where Chromium is looked for (an absolute path, else a name on PATH); the review page's browser tests use it.
CHROMIUM_CANDIDATES = ('/usr/bin/chromium', 'chromium', 'chromium-browser')


class Status(StrEnum):
    PASS = 'pass'  #: fine
    WARN = 'warn'  #: works, but worth a look; doctor still exits 0
    FAIL = 'fail'  #: broken: doctor exits 1
    SKIP = 'skip'  #: not checked: a check it needs failed

    @property
    def failed(self) -> bool:
        return self is Status.FAIL


class Check(BaseModel):
    """One line of the report."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    detail: str
    fix: str | None = None

    def line(self) -> str:
        fix = f'; fix: {self.fix}' if self.fix else ''
        return f'{self.status.value.upper():<4}  {self.name:<8}  {self.detail}{fix}'


@dataclass
class Context:
    """What the checks found so far (the backend check's client serves the agent check)."""

    chromium: Sequence[str] = CHROMIUM_CANDIDATES
    ray_timeout: float = RAY_TIMEOUT
    config: dict[str, Any] | None = None  #: the config file's keys; None: unreadable
    host: str | None = None  #: the configured host (None: the local backend)
    backend: BackendClient | None = None  #: a client of the backend that accepted its token
    label: str = ''  #: the backend as lines name it
    local: bool = False  #: the backend is the local backend of SYNAPSE_LOCAL_DIR
    server: ServerStatus | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for close in self.closers:
            close()


def check_config(ctx: Context) -> Check:
    file = config_path()
    if not file.exists():
        ctx.config = {}
        if os.environ.get('SYNAPSE_HOST'):
            return Check(
                name='config', status=Status.PASS, detail=f'no config file at {file}; the host is SYNAPSE_HOST'
            )
        return Check(
            name='config',
            status=Status.WARN,
            detail=f'no config file at {file}',
            fix='run `synapse login --host URL` to use a backend (until then, commands use the local backend)',
        )
    try:
        ctx.config = read_config(file)
    except ValueError as exc:
        cause = exc.__cause__
        reason = (cause.strerror or str(cause)) if isinstance(cause, OSError) else str(cause or exc)
        return Check(
            name='config',
            status=Status.FAIL,
            detail=f'{file} cannot be read: {reason}',
            fix='fix the JSON, or remove the file and run `synapse login`',
        )
    return _config_details(ctx, file)


def _config_details(ctx: Context, file: os.PathLike[str]) -> Check:
    from synapse_sdk.clients.agent_selection import selected_agent

    try:
        selected_agent(file)
    except ValueError as exc:
        ctx.config = None
        return Check(name='config', status=Status.FAIL, detail=str(exc).split('; ')[0], fix=_AGENT_FIX)
    mode = stat.S_IMODE(os.stat(file).st_mode)
    secrets = {'access_token', 'user_token', 'tenant', 'agent'} & set(ctx.config or {})
    if mode & 0o077 and secrets:
        return Check(
            name='config',
            status=Status.WARN,
            detail=f'{file} holds {", ".join(sorted(secrets))} and others may read it (mode {mode:o})',
            fix=f'chmod 600 {file}',
        )
    keys = ', '.join(sorted(ctx.config or {})) or 'no keys'
    return Check(name='config', status=Status.PASS, detail=f'{file} is readable ({keys})')


_AGENT_FIX = 'run `synapse agent select ID` (`synapse agent list` shows the ids), or `synapse agent clear`'


def check_backend(ctx: Context) -> Check:
    if ctx.config is None:
        return Check(name='backend', status=Status.SKIP, detail='not checked: the config file cannot be read')
    creds = resolve_credentials()
    host = creds['host']
    ctx.host = host
    if host is None:
        return _local_backend(ctx, creds)
    url = shown_url(host)
    host_from = 'SYNAPSE_HOST' if os.environ.get('SYNAPSE_HOST') else f'the config file {config_path()}'
    ctx.local = _served_here(ctx, host)
    token = creds['access_token']
    source = (token_source(token) or 'the configuration') if token else None
    if token is None and ctx.local:
        from synapse_sdk.local.paths import LocalPaths
        from synapse_sdk.local.setup import read_local_token

        paths = LocalPaths.resolve()
        token, source = read_local_token(paths), f'the local token file {paths.token_file}'
    if token is None or source is None:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'no access token for {url} (host from {host_from})',
            fix=f'run `synapse login --host {url}`, or set SYNAPSE_ACCESS_TOKEN',
        )
    from synapse_sdk.clients.backend.client import BackendClient

    try:
        client = BackendClient(host, token, tenant=creds['tenant'], timeout=PROBE_TIMEOUT, retry=PROBE_RETRY)
    except ValueError as exc:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'the host from {host_from} is not a backend URL: {exc}',
            fix='run `synapse login --host https://...`',
        )
    return _verify(ctx, client, url, source, f' (host from {host_from})')


def _served_here(ctx: Context, host: str) -> bool:
    """Whether ``host`` is the running ``synapse local serve`` of SYNAPSE_LOCAL_DIR (its record is kept as is)."""
    try:
        from synapse_sdk.local.paths import LocalPaths
        from synapse_sdk.local.server_record import check_server
    except ImportError:  # the local extra is not installed
        return False
    ctx.server = check_server(LocalPaths.resolve(), clear=False, log=False)
    record = ctx.server.record
    return ctx.server.state == 'running' and record is not None and same_host(record.url, host)


def _local_backend(ctx: Context, creds: dict[str, str | None]) -> Check:
    try:
        from synapse_sdk.local.connect import connect_local
        from synapse_sdk.local.paths import LocalPaths
        from synapse_sdk.local.server_record import check_server
        from synapse_sdk.local.setup import read_local_token
    except ImportError:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail='no backend configured, and the local backend is not installed',
            fix="run `synapse login --host URL`, or pip install 'synapse-sdk[local]'",
        )
    paths = LocalPaths.resolve()
    ctx.local = True
    if not paths.database.exists():
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'no backend configured, and the local backend in {paths.root} is not initialised',
            fix='run `synapse local init` (the local backend), or `synapse login --host URL` (a remote one)',
        )
    token, source = creds['access_token'], 'SYNAPSE_ACCESS_TOKEN'
    if token is None:
        token, source = read_local_token(paths), f'the local token file {paths.token_file}'
    if token is None:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'the local backend in {paths.root} has no token file {paths.token_file}',
            fix='run `synapse local init --new-token`',
        )
    ctx.server = check_server(paths, clear=False, log=False)
    record = ctx.server.record
    if ctx.server.state == 'running' and record is not None:
        from synapse_sdk.clients.backend.client import BackendClient

        client = BackendClient(record.url, token, timeout=PROBE_TIMEOUT, retry=PROBE_RETRY)
        where = f'`synapse local serve` at {shown_url(record.url)}'
    else:
        client = connect_local(paths.root, access_token=token, in_process=True)
        where = 'in this process: no `synapse local serve` runs'
    return _verify(ctx, client, f'the local backend ({paths.root}, {where})', source, '')


def _verify(ctx: Context, client: BackendClient, label: str, source: str, suffix: str) -> Check:
    """One authenticated read; on success ``ctx.backend`` is the client."""
    from synapse_sdk.exceptions import AuthenticationError, ClientConnectionError, ClientError, ClientTimeoutError

    ctx.closers.append(client.close)
    try:
        client.projects.list({'page_size': 1}, list_all=True)
    except AuthenticationError:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'{label} refused the access token {_from(source)}',
            fix=_login_fix(client, source),
        )
    except (ClientConnectionError, ClientTimeoutError) as exc:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'cannot reach {label}{suffix}: {" ".join(str(exc.detail).split())}',
            fix='check the host (`synapse login --host URL` saves another), or start that backend',
        )
    except ClientError as exc:
        return Check(
            name='backend',
            status=Status.FAIL,
            detail=f'{label} answered {" ".join(str(exc).split())}',
            fix='check the backend',
        )
    ctx.backend, ctx.label = client, label
    return Check(
        name='backend', status=Status.PASS, detail=f'{label} accepted the access token {_from(source)}{suffix}'
    )


def _from(source: str) -> str:
    return (
        'from SYNAPSE_ACCESS_TOKEN (an environment variable)' if source == 'SYNAPSE_ACCESS_TOKEN' else f'from {source}'
    )


def _login_fix(client: BackendClient, source: str) -> str:
    login = f'`synapse login --host {shown_url(client.base_url)}`'
    if source == 'SYNAPSE_ACCESS_TOKEN':
        return f'set a valid one there, or unset it to use the one {login} saves'
    if source.startswith('the local token file'):
        return 'run `synapse local init --new-token`'
    return f'run {login} to save a valid one'


def check_agent(ctx: Context) -> Check:
    from synapse_sdk.clients.agent_selection import selected_agent
    from synapse_sdk.exceptions import ClientError, NotFoundError

    client = ctx.backend
    if client is None:
        return Check(name='agent', status=Status.SKIP, detail='not checked: no backend accepted the credentials')
    saved = selected_agent()
    try:
        if saved is not None and saved.selected_on(ctx.host):
            which = 'the selected agent'
            try:
                row: dict[str, Any] | None = client.agents.get(saved.id)
            except NotFoundError:
                return Check(
                    name='agent',
                    status=Status.FAIL,
                    detail=f'the selected agent {saved.id} is not on {ctx.label}',
                    fix=_AGENT_FIX,
                )
        else:
            which = 'the first agent'
            rows, _count = client.agents.list({'page_size': 1}, list_all=True)
            row = next(iter(rows), None)
    except ClientError as exc:
        return Check(
            name='agent',
            status=Status.FAIL,
            detail=f'cannot list the agents: {" ".join(str(exc).split())}',
            fix='check the backend',
        )
    if row is None:
        return Check(
            name='agent',
            status=Status.WARN,
            detail=f'{ctx.label} lists no agents',
            fix='connect an agent to the backend (plugin jobs and deployments run on one)',
        )
    access = agent_access(row, backend_url=client.base_url, local=ctx.local, saved=saved)
    try:
        health = probe_health(access)
    finally:
        access.close()
    name = f'{which} {row.get("id")}' + (f' ({row["name"]})' if row.get('name') else '')
    if health.ok:
        return Check(name='agent', status=Status.PASS, detail=f'{name} answers {access.where}')
    return Check(
        name='agent',
        status=Status.FAIL,
        detail=f'{name} does not answer {access.where}: {health.error}',
        fix='start that agent, or select another (`synapse agent list`, `synapse agent select ID`)',
    )
