"""``synapse local serve``: uvicorn on 127.0.0.1, recording its URL for ``create_backend_client()``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from synapse_sdk.local.paths import LocalPaths
from synapse_sdk.local.setup import init_local, write_private_file

__all__ = ['serve']


def serve(
    host: str = '127.0.0.1',
    port: int = 8000,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    log_level: str = 'warning',
) -> None:
    """Run the backend until interrupted (the state directory is initialised first if needed)."""
    import uvicorn

    from synapse_sdk.local.app import create_app

    paths = LocalPaths.resolve(state_dir)
    init_local(paths.root)
    app = create_app(paths)
    write_private_file(paths.server_file, json.dumps({'url': f'http://{host}:{port}/', 'pid': os.getpid()}))
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)
    finally:
        app.close()
        _forget(paths.server_file)


def _forget(record: Path) -> None:
    try:
        if json.loads(record.read_text()).get('pid') == os.getpid():
            record.unlink()
    except (OSError, ValueError):
        pass
