"""``plugins/``, ``plugin_releases/`` (multipart publish) and ``plugins/{code}/run/``.

``plugin_releases/?plugin=`` takes a plugin id or, as the platform's client sends it, a plugin code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from synapse_sdk.enums import PluginCategory
from synapse_sdk.local.filters import FilterField, build_clauses, in_int64, parse_int, parse_str, query_multi
from synapse_sdk.local.models import Agent, Job, Plugin, PluginRelease
from synapse_sdk.local.pagination import RESERVED_PARAMS, each, paginate, select_fields, shape_one
from synapse_sdk.local.routers._common import DbInt, StrictBody, file_links, get_or_404, upload_name
from synapse_sdk.local.serializers import plugin_out, release_out
from synapse_sdk.local.state import AppState, RunRequest, State
from synapse_sdk.local.storage import remove_stored, store_file
from synapse_sdk.local.views import PLUGINS, RELEASES

router = APIRouter()

_PLUGIN_FILTERS = {'id': FilterField(Plugin.id, parse_int), 'code': FilterField(Plugin.code, parse_str)}
_release_code = select(Plugin.code).where(Plugin.id == PluginRelease.plugin_id).scalar_subquery()
_RELEASE_FILTERS = {
    'id': FilterField(PluginRelease.id, parse_int),
    'plugin': FilterField(PluginRelease.plugin_id, parse_int),
    'plugin_code': FilterField(_release_code, parse_str),
    'version': FilterField(PluginRelease.version, parse_str),
}

#: What a plugin code may look like (``plugins/`` and ``plugin_releases/`` alike): no ``/``, no leading ``.``.
CODE_PATTERN = r'^[A-Za-z0-9][A-Za-z0-9_.-]*$'
#: A release version: ``1.2.0``, ``0.1.0-rc1``, ``2.0+local``.
VERSION_PATTERN = r'^[A-Za-z0-9][A-Za-z0-9_.+-]*$'
_ID = re.compile(r'[0-9]+')


class PluginIn(StrictBody):
    code: str = Field(min_length=1, max_length=200, pattern=CODE_PATTERN)
    name: str = ''
    category: PluginCategory = PluginCategory.CUSTOM


class RunOptions(StrictBody):
    """What a run is asked to do; the bodies of ``plugins/{code}/run/`` and the agent's release run share it."""

    action: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    job_id: DbInt | None = None
    storage_id: DbInt | None = None
    debug: bool | None = None
    language: str | None = None


class RunIn(RunOptions):
    """Body of ``plugins/{code}/run/``; keys whose value would be None are simply omitted."""

    agent: DbInt
    version: str | None = None


def find_plugin(session: Session, ident: str) -> Plugin:
    if ident.isdigit():
        plugin = session.get(Plugin, int(ident)) if in_int64(int(ident)) else None
    else:
        plugin = session.scalar(select(Plugin).where(Plugin.code == ident))
    if plugin is None:
        raise HTTPException(404, f"Plugin '{ident}' not found")
    return plugin


def find_release(session: Session, plugin: Plugin, version: str | None) -> PluginRelease:
    stmt = select(PluginRelease).where(PluginRelease.plugin_id == plugin.id)
    stmt = stmt.where(PluginRelease.version == version) if version else stmt.order_by(PluginRelease.id.desc())
    release = session.scalar(stmt.limit(1))
    if release is None:
        suffix = f' version {version}' if version else ''
        raise HTTPException(404, f"Plugin '{plugin.code}'{suffix} has no release")
    return release


@router.get('/plugins/')
def list_plugins(request: Request, state: State) -> dict[str, Any]:
    clauses = build_clauses(query_multi(request.query_params), _PLUGIN_FILTERS, RESERVED_PARAMS)
    with state.db.read() as session:
        return paginate(request, state, session, select(Plugin).where(*clauses), each(plugin_out), PLUGINS)


@router.post('/plugins/', status_code=201)
def create_plugin(body: PluginIn, state: State) -> dict[str, Any]:
    with state.db.write() as session:
        if session.scalar(select(Plugin.id).where(Plugin.code == body.code)) is not None:
            raise HTTPException(400, f"code: a plugin with code '{body.code}' already exists")
        row = Plugin(code=body.code, name=body.name or body.code, category=body.category.value)
        session.add(row)
        session.flush()
        return plugin_out(row)


@router.get('/plugins/{ident}/')
def get_plugin(ident: str, request: Request, state: State) -> dict[str, Any]:
    with state.db.read() as session:
        return shape_one(request, PLUGINS, plugin_out(find_plugin(session, ident)))


#: Run options kept in the job's ``meta['run']``; the job's ``params`` are the action's params alone.
_RUN_OPTIONS = ('version', 'job_id', 'storage_id', 'debug', 'language')


def start_run(state: AppState, code: str, body: RunIn) -> Any:
    """Hand the run to the attached agent: ``inference`` as is, anything else recorded first as a PENDING job."""
    if body.action == 'inference':
        with state.db.read() as session:
            request = _request(session, code, body, None)
        if state.dispatcher is None:
            raise HTTPException(
                503, 'No agent runner is attached to this backend: inference needs `synapse local serve`'
            )
        return state.dispatcher(request)
    with state.db.write() as session:
        plugin = find_plugin(session, code)
        release = find_release(session, plugin, body.version)
        get_or_404(session, Agent, body.agent, 'Agent')
        options = body.model_dump(exclude_none=True, include=set(_RUN_OPTIONS))
        job = Job(
            plugin_release_id=release.id,
            agent_id=body.agent,
            action=body.action,
            params=body.params,
            meta={'run': {**options, 'version': release.version}},
        )
        session.add(job)
        session.flush()
        request = _request(session, code, body, job.id)
    if state.dispatcher is not None:
        return state.dispatcher(request)
    return {'job_id': request.job_id}


def _request(session: Session, code: str, body: RunIn, job_id: int | None) -> RunRequest:
    plugin = find_plugin(session, code)
    release = find_release(session, plugin, body.version)
    get_or_404(session, Agent, body.agent, 'Agent')
    return RunRequest(
        code=plugin.code,
        version=release.version,
        release_id=release.id,
        config=dict(release.config or {}),
        agent=body.agent,
        action=body.action,
        params=dict(body.params),
        job_id=job_id,
        language=body.language,
    )


@router.post('/plugins/{code}/run/')
def run_plugin(code: str, body: RunIn, state: State) -> dict[str, Any]:
    """Run an action of the plugin on an agent (``deployment``, ``inference`` or any job action)."""
    return start_run(state, code, body)


def _release_params(request: Request) -> dict[str, list[str]]:
    """The query as filters; ``plugin=<code>`` (not an id) is read as ``plugin_code=<code>``, as on the platform."""
    params = query_multi(request.query_params)
    plugin = params.get('plugin')
    if plugin and _ID.fullmatch(plugin[-1].strip()) is None:
        params['plugin_code'] = params.pop('plugin')
    return params


@router.get('/plugin_releases/')
def list_releases(request: Request, state: State) -> dict[str, Any]:
    shape = RELEASES.parse(request)
    clauses = build_clauses(_release_params(request), _RELEASE_FILTERS, RESERVED_PARAMS)
    links = file_links(request)
    expand = 'plugin' in shape.expand
    with state.db.read() as session:
        stmt = select(PluginRelease).where(*clauses)

        def render(rows: Sequence[PluginRelease]) -> list[dict[str, Any]]:
            ids = {r.plugin_id for r in rows}
            plugins = {p.id: p for p in session.scalars(select(Plugin).where(Plugin.id.in_(ids)))} if ids else {}
            return [release_out(r, plugins[r.plugin_id], links, expand=expand) for r in rows]

        return paginate(request, state, session, stmt, render, RELEASES, shape)


def _parse_config(config: str) -> dict[str, Any]:
    try:
        value = json.loads(config)
    except json.JSONDecodeError as exc:
        raise HTTPException(400, f'config: not valid JSON ({exc.msg} at line {exc.lineno})') from None
    if not isinstance(value, dict):
        raise HTTPException(400, 'config: must be a JSON object')
    return value


@router.post('/plugin_releases/', status_code=201)
def publish_release(
    request: Request,
    state: State,
    plugin: Annotated[str, Form(min_length=1, max_length=200, pattern=CODE_PATTERN)],
    version: Annotated[str, Form(min_length=1, max_length=64, pattern=VERSION_PATTERN)],
    config: Annotated[str, Form()],
    file: Annotated[UploadFile | None, File()] = None,
    debug: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Publish a release; the config JSON is kept whole. The plugin record is created on first publish.

    ``plugin`` is a code as ``plugins/`` takes it (letters, digits, ``_.-``, not starting with ``.``).
    """
    cfg = _parse_config(config)
    if file is not None:
        file.filename = upload_name(file.filename, 'plugin.zip')
    stored: list[str] = []
    try:
        return _publish(request, state, plugin, version, cfg, file, debug, stored)
    except BaseException:
        for rel in stored:  # rolled back: drop the archive no row refers to
            remove_stored(state.paths, rel)
        raise


def _publish(
    request: Request,
    state: AppState,
    plugin: str,
    version: str,
    cfg: dict[str, Any],
    file: UploadFile | None,
    debug: bool,
    stored: list[str],
) -> dict[str, Any]:
    links = file_links(request)  # before the write transaction: making the signing key writes too
    with state.db.write() as session:
        row = session.scalar(select(Plugin).where(Plugin.code == plugin))
        if row is None:
            category = cfg.get('category') if cfg.get('category') in set(PluginCategory) else 'custom'
            row = Plugin(code=plugin, name=str(cfg.get('name') or plugin), category=category)
            session.add(row)
            session.flush()
        existing = session.scalar(
            select(PluginRelease).where(PluginRelease.plugin_id == row.id, PluginRelease.version == version)
        )
        if existing is not None and not (debug and existing.debug):
            raise HTTPException(400, f'version: release {plugin}@{version} already exists')
        archive = store_file(session, state.paths, file.file, file.filename or 'plugin.zip', stored) if file else None
        release = existing or PluginRelease(plugin_id=row.id, version=version)
        release.config, release.debug, release.file_id = cfg, debug, archive.id if archive else None
        session.add(release)
        session.flush()
        return release_out(release, row, links)


def release_by_ident(session: Session, ident: str) -> tuple[Plugin, PluginRelease]:
    """The plugin and release named by a release id or ``<code>@<version>``; 404 otherwise."""
    if ident.isdigit():
        release = get_or_404(session, PluginRelease, int(ident), 'Plugin release')
        return get_or_404(session, Plugin, release.plugin_id, 'Plugin'), release
    code, sep, version = ident.partition('@')
    if not sep or not version:
        raise HTTPException(404, f"Plugin release '{ident}' not found; use an id or <code>@<version>")
    plugin = find_plugin(session, code)
    return plugin, find_release(session, plugin, version)


@router.get('/plugin_releases/{ident}/')
def get_release(ident: str, request: Request, state: State) -> dict[str, Any]:
    """By id, or by ``<code>@<version>``."""
    shape = RELEASES.parse(request, listing=False)
    with state.db.read() as session:
        plugin, release = release_by_ident(session, ident)
        out = release_out(release, plugin, file_links(request), expand='plugin' in shape.expand)
        return select_fields(out, shape.fields)
