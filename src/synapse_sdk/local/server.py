"""``synapse local serve``: uvicorn on 127.0.0.1, recording its URL for ``create_backend_client()``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.setup import init_local, read_local_token, write_private_file

__all__ = ['running', 'serve']


def serve(
    host: str = '127.0.0.1',
    port: int = 8000,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    log_level: str = 'warning',
    agent_runner: bool = True,
) -> None:
    """Run the backend until interrupted (the state directory is initialised first if needed).

    With ``agent_runner`` the local agent runs deployments, inference and jobs on a local Ray head that it
    starts on 127.0.0.1 on first need and stops with the server.
    """
    import uvicorn

    from synapse_sdk.local.app import create_app

    paths = LocalPaths.resolve(state_dir)
    init_local(paths.root)
    app = create_app(paths)
    url = f'http://{host}:{port}/'
    token = read_local_token(paths)
    agent = None
    if agent_runner and token is not None:
        from synapse_sdk.local.serve_agent import attach_serve_agent

        agent = attach_serve_agent(app, url, token)
    write_private_file(paths.server_file, json.dumps({'url': url, 'pid': os.getpid()}))
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        if agent is not None:
            agent.close()  # stops the local Ray head, if it was started
        app.close()
        _forget(paths.server_file)


def _forget(record: Path) -> None:
    try:
        if json.loads(record.read_text()).get('pid') == os.getpid():
            record.unlink()
    except (OSError, ValueError):
        pass


@contextmanager
def running(
    state_dir: str | os.PathLike[str] | None = None, *, port: int = 0, agent_runner: bool = False
) -> Iterator[str]:
    """``with running(dir) as url:`` the backend served on 127.0.0.1 by a thread of this process (notebooks,
    docs, tests); ``port=0`` picks a free port. With ``agent_runner`` its agent runs Ray as ``serve`` does."""
    import threading
    import time

    import uvicorn

    from synapse_sdk.local.app import create_app

    paths = LocalPaths.resolve(state_dir)
    init_local(paths.root)
    app = create_app(paths)
    server = uvicorn.Server(uvicorn.Config(app, host='127.0.0.1', port=port, log_level='warning', lifespan='off'))
    thread = threading.Thread(target=server.run, name='synapse-local-backend', daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError('The local backend did not start')
        time.sleep(0.01)
    url = f'http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/'
    agent = None
    token = read_local_token(paths)
    if agent_runner and token is not None:
        from synapse_sdk.local.serve_agent import attach_serve_agent

        agent = attach_serve_agent(app, url, token)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if agent is not None:
            agent.close()
        app.close()
