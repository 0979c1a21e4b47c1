"""The review page as a FastAPI router: HTML pages, their JS/CSS, a JSON API and the tasks' images.

Under ``prefix`` (``/review`` by default)::

    GET  /                        the runs of this state folder (HTML; ``GET api/runs`` as JSON)
    GET  /{run}/                  the review page of a run
    GET  /{run}/api/tasks         a page of its tasks (``offset``, ``limit``), its counts and class colours
    GET  /{run}/api/counts        its counts (and a running commit's progress)
    POST /{run}/api/decisions     ``{task_ids, decision}``
    POST /{run}/api/commit        ``{approved_only}``: write what was approved; the commit's report
    GET  /{run}/image/{task id}   the task's primary image (fetched through the backend client, cached)

Every request needs the server's access key: the link ``synapse review`` prints carries it once
(``?key=``), which the server turns into an HttpOnly, SameSite=Strict cookie for this host and port,
so another web site open in the same browser can neither read the page nor post a decision; scripts
send it as the ``X-Synapse-Review-Key`` header. Nothing is loaded from outside the server (the
Content-Security-Policy allows only its own origin).

FastAPI is imported when a router is made (the ``local`` extra), so this module imports without it.
"""

# No `from __future__ import annotations` here: FastAPI reads the route functions' annotations at
# run time, and these functions are defined where fastapi's names are local.
import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from synapse_sdk.exceptions import ClientError, MissingDependencyError, SynapseError
from synapse_sdk.plugins.actions.to_task.record import RunNotFoundError
from synapse_sdk.review.images import ImageUnavailableError
from synapse_sdk.review.models import (
    CommitReply,
    CommitRequest,
    Counts,
    DecisionReply,
    DecisionRequest,
    RunView,
    TasksPage,
)
from synapse_sdk.review.service import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    CommitRunningError,
    ReviewService,
    UnknownTasksError,
)
from synapse_sdk.utils.redact import redact, sanitize_urls

__all__ = ['KEY_HEADER', 'create_review_app', 'create_review_router', 'mount_review', 'new_access_key']

KEY_HEADER = 'X-Synapse-Review-Key'
_HERE = Path(__file__).parent
_STATIC = {
    'review.js': 'text/javascript; charset=utf-8',
    'review.css': 'text/css; charset=utf-8',
    'favicon.svg': 'image/svg+xml',
}
_CSP = (
    "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_HTML_HEADERS = {
    'Content-Security-Policy': _CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
}


def new_access_key() -> str:
    """A fresh random access key for one review server."""
    return secrets.token_urlsafe(24)


def _fastapi() -> Any:
    try:
        import fastapi
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise MissingDependencyError("The review page needs FastAPI: pip install 'synapse-sdk[local]'") from exc
    return fastapi


@cache
def _static(name: str) -> tuple[bytes, str]:
    """The bytes of a static file and their version (a digest, for cache-busting URLs)."""
    body = (_HERE / 'static' / name).read_bytes()
    return body, hashlib.sha256(body).hexdigest()[:12]


@cache
def _templates() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE / 'templates'), autoescape=True, undefined=jinja2.StrictUndefined
    )


@contextmanager
def _http_errors() -> Iterator[None]:
    """The service's errors as HTTP answers whose ``detail`` says what is wrong (never a secret)."""
    from fastapi import HTTPException

    try:
        yield
    except (RunNotFoundError, ImageUnavailableError) as exc:
        raise HTTPException(404, redact(str(exc))) from exc
    except UnknownTasksError as exc:
        raise HTTPException(422, redact(str(exc))) from exc
    except CommitRunningError as exc:
        raise HTTPException(409, redact(str(exc))) from exc
    except ClientError as exc:
        raise HTTPException(502, f'The backend answered {sanitize_urls(redact(str(exc)))}') from exc
    except SynapseError as exc:  # e.g. a run made against another backend
        raise HTTPException(409, sanitize_urls(redact(str(exc)))) from exc


class _Access:
    """The access key: the cookie it becomes, the check of a request, the landing that sets the cookie."""

    def __init__(self, key: str, prefix: str) -> None:
        if len(key) < 16:
            raise ValueError('access_key must be at least 16 characters (use new_access_key())')
        self.key = key.encode()
        self.prefix = prefix

    @staticmethod
    def cookie(request: Any) -> str:
        return f'synapse_review_{request.url.port or "default"}'

    def matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.key)

    def allowed(self, request: Any) -> bool:
        return self.matches(request.cookies.get(self.cookie(request)) or request.headers.get(KEY_HEADER))

    def require(self, request: Any) -> None:
        """403 unless the request carries the key."""
        from fastapi import HTTPException

        if not self.allowed(request):
            raise HTTPException(403, 'No valid review key: open the link `synapse review RUN` printed')

    def page(self, request: Any, template: str, **values: Any) -> Any:
        """The HTML page; with ``?key=`` the redirect that turns it into a cookie; without the key, a 403 page."""
        from fastapi.responses import HTMLResponse, RedirectResponse

        given = request.query_params.get('key')
        if given is not None and self.matches(given):
            landing = RedirectResponse(str(request.url.remove_query_params('key')), 303, headers=_HTML_HEADERS)
            landing.set_cookie(self.cookie(request), given, httponly=True, samesite='strict', path=self.prefix)
            return landing
        if given is not None or not self.allowed(request):
            return HTMLResponse(_render('denied.html', prefix=self.prefix), 403, headers=_HTML_HEADERS)
        return HTMLResponse(_render(template, prefix=self.prefix, **values), headers=_HTML_HEADERS)


def create_review_router(service: ReviewService, *, access_key: str, prefix: str = '/review') -> Any:
    """The review routes over ``service``, guarded by ``access_key`` (see the module docstring)."""
    fastapi = _fastapi()
    from fastapi import Depends, HTTPException, Request
    from fastapi.responses import Response

    prefix = '/' + prefix.strip('/')
    access = _Access(access_key, prefix)
    router = fastapi.APIRouter(prefix=prefix)

    @router.get('/static/{name}', include_in_schema=False)
    def static(name: str) -> Response:
        if name not in _STATIC:
            raise HTTPException(404, f'No static file {name!r}')
        body, version = _static(name)
        headers = {'Cache-Control': 'max-age=86400', 'ETag': f'"{version}"', 'X-Content-Type-Options': 'nosniff'}
        return Response(body, media_type=_STATIC[name], headers=headers)

    @router.get('/', include_in_schema=False)
    def runs_page(request: Request) -> Response:
        return access.page(request, 'runs.html', runs=service.runs() if access.allowed(request) else [])

    @router.get('/{run_id}/', include_in_schema=False)
    def review_page(request: Request, run_id: str) -> Response:
        if not access.allowed(request):
            return access.page(request, 'review.html')  # the landing redirect, or the refusal
        with _http_errors():
            run = service.run(run_id)
        return access.page(request, 'review.html', run=run, page_size=DEFAULT_PAGE_SIZE)

    def require_key(request: Request) -> None:
        access.require(request)

    guarded = fastapi.APIRouter(dependencies=[Depends(require_key)])
    _api_routes(guarded, service)
    router.include_router(guarded)
    return router


def _api_routes(router: Any, service: ReviewService) -> None:
    from fastapi import Query
    from fastapi.responses import FileResponse, Response

    @router.get('/api/runs')
    def runs_api() -> list[RunView]:
        return service.runs()

    @router.get('/{run_id}/api/tasks')
    def tasks_api(
        run_id: str,
        offset: int = Query(0, ge=0),
        limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    ) -> TasksPage:
        with _http_errors():
            return service.tasks(run_id, offset, limit)

    @router.get('/{run_id}/api/counts')
    def counts_api(run_id: str) -> Counts:
        with _http_errors():
            return service.counts(run_id)

    @router.post('/{run_id}/api/decisions')
    def decisions_api(run_id: str, request: DecisionRequest) -> DecisionReply:
        with _http_errors():
            return service.decide(run_id, request)

    @router.post('/{run_id}/api/commit')
    def commit_api(run_id: str, request: CommitRequest | None = None) -> CommitReply:
        with _http_errors():
            return service.commit(run_id, request or CommitRequest())

    @router.get('/{run_id}/image/{task_id}', include_in_schema=False)
    def image(run_id: str, task_id: int) -> Response:
        with _http_errors():
            path, kind = service.image(run_id, task_id)
        headers = {'Cache-Control': 'private, max-age=3600', 'X-Content-Type-Options': 'nosniff'}
        return FileResponse(path, media_type=kind, headers=headers)


def _render(template: str, *, prefix: str, **values: Any) -> str:
    static = {name.replace('.', '_'): f'{prefix}/static/{name}?v={_static(name)[1]}' for name in _STATIC}
    values.update(prefix=prefix, static=static)
    return str(_templates().get_template(template).render(**values))


def mount_review(
    app: Any, client_factory: Callable[[], Any], *, access_key: str, prefix: str = '/review'
) -> ReviewService:
    """Serve the review routes on ``app`` (a FastAPI app, or an app with one as ``.fastapi``).

    Returns the service; call its ``close()`` when the app shuts down (it closes the client it made).
    """
    api = getattr(app, 'fastapi', app)
    service = ReviewService(client_factory)
    api.include_router(create_review_router(service, access_key=access_key, prefix=prefix))
    return service


def create_review_app(
    client_factory: Callable[[], Any], *, access_key: str | None = None, prefix: str = '/review'
) -> Any:
    """A FastAPI app serving only the review; its key is ``app.state.review_key`` (random unless given).

    The backend client is made by ``client_factory`` on first use and closed when the app shuts down.
    """
    fastapi = _fastapi()
    from fastapi.responses import RedirectResponse

    key = access_key or new_access_key()
    service = ReviewService(client_factory)

    @asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        service.close()

    app = fastapi.FastAPI(title='Synapse review', docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.include_router(create_review_router(service, access_key=key, prefix=prefix))
    app.state.review_key = key
    app.state.review = service
    root = '/' + prefix.strip('/') + '/'

    @app.get('/', include_in_schema=False)
    def home() -> Any:
        return RedirectResponse(root)

    return app
