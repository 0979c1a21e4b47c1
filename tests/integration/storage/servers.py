"""Loopback servers for the storage tests: moto's S3 server, an asyncssh SFTP server, a static HTTP server."""

from __future__ import annotations

import asyncio
import functools
import http.server
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ACCESS_KEY = 'AKIALOOPBACKTEST01'
SECRET_KEY = 'loopback-secret-key-do-not-print-7f3a'
SFTP_USER = 'synapse'
SFTP_PASSWORD = 'sftp-password-never-logged-91c2'


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def config(self, bucket: str, **extra: Any) -> dict[str, Any]:
        configuration = {
            'bucket_name': bucket,
            'access_key': ACCESS_KEY,
            'secret_key': SECRET_KEY,
            'region_name': 'us-east-1',
            'endpoint_url': self.endpoint_url,
            **extra,
        }
        return {'provider': 's3', 'configuration': configuration}

    def create_bucket(self, bucket: str) -> None:
        import boto3

        client = boto3.client(
            's3',
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name='us-east-1',
        )
        client.create_bucket(Bucket=bucket)
        client.close()


@contextmanager
def moto_s3() -> Iterator[S3Server]:
    """moto's S3-compatible server on 127.0.0.1, on a free port."""
    from moto.server import ThreadedMotoServer

    logging.getLogger('werkzeug').setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)
    server.start()
    try:
        port = server._server.server_port  # type: ignore[union-attr]  # moto keeps the bound port here
        yield S3Server(f'http://127.0.0.1:{port}')
    finally:
        server.stop()


@dataclass(frozen=True)
class SFTPServer:
    port: int
    root: Path
    known_hosts: Path

    def config(self, **extra: Any) -> dict[str, Any]:
        configuration = {
            'host': '127.0.0.1',
            'port': self.port,
            'username': SFTP_USER,
            'password': SFTP_PASSWORD,
            'root': '/',
            'known_hosts': str(self.known_hosts),
            **extra,
        }
        return {'provider': 'sftp', 'configuration': configuration}


@contextmanager
def asyncssh_sftp(tmp: Path) -> Iterator[SFTPServer]:
    """An SSH server with SFTP (chrooted to ``tmp/root``), a fresh host key, password auth, on 127.0.0.1."""
    import asyncssh

    root = tmp / 'root'
    root.mkdir()
    key = asyncssh.generate_private_key('ssh-ed25519')
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}
    connections: list[Any] = []

    class Server(asyncssh.SSHServer):
        def connection_made(self, conn: Any) -> None:
            connections.append(conn)

        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == SFTP_USER and password == SFTP_PASSWORD

    async def start() -> None:
        holder['server'] = await asyncssh.listen(
            '127.0.0.1',
            0,
            server_host_keys=[key],
            server_factory=Server,
            sftp_factory=functools.partial(asyncssh.SFTPServer, chroot=str(root)),
        )
        ready.set()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        loop.run_forever()

    thread = threading.Thread(target=run, name='sftp-test', daemon=True)
    thread.start()
    assert ready.wait(10), 'the SFTP server did not start'
    server = holder['server']
    port = server.sockets[0].getsockname()[1]
    known = tmp / 'known_hosts'
    known.write_text(f'[127.0.0.1]:{port} {key.export_public_key().decode().strip()}\n')
    try:
        yield SFTPServer(port, root, known)
    finally:

        async def stop() -> None:
            server.close()
            await server.wait_closed()
            for conn in connections:
                conn.close()
                await conn.wait_closed()
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def static_http(directory: Path) -> Iterator[str]:
    """``directory`` served read-only over HTTP on 127.0.0.1; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, name='http-test', daemon=True)
    thread.start()
    try:
        yield f'http://127.0.0.1:{httpd.server_address[1]}/'
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(10)
