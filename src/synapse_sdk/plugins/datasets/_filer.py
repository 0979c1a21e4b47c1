"""Creating output files: inline, or in a helper process so that the kernel's work overlaps parsing.

A conversion creates one or two files per item (label + image copy). Creating a file is kernel time
(5-180 us each on the benchmark machine, see ``bench/RESULTS.md``), and in one process it adds up with the
Python work of parsing and formatting. For big datasets the writers hand file creation to a helper: this
very file run as a script (``python -I -S``, standard library only), fed batches of operations over a pipe,
so the two run on different cores. A thread would not do: it waits up to ``sys.getswitchinterval()`` for
the GIL after every system call.

The pipe's buffer bounds what is in flight. The helper works in order, stops at the first failure and
reports it when the pipe closes; :meth:`FileHelper.finish` raises it as the same ``OSError`` an inline
call would have raised.
"""

from __future__ import annotations

import marshal
import os
import shutil
import stat
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ['BIG', 'FileHelper', 'copy_file', 'place_copy', 'write_file']

BIG = 8 << 20  #: copies of files this large go to a thread pool (in-kernel copies, no GIL held)
_BATCH_BYTES = 1 << 16
_BATCH_OPS = 512
_PIPE_BYTES = 1 << 20
_WRITE, _COPY = 0, 1


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Create ``path`` with ``data`` (a new file inside the staging folder), with the fewest system calls."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def copy_file(source: str | os.PathLike[str], dest: str | os.PathLike[str], size: int = 1 << 30) -> None:
    """Copy bytes in the kernel (``copy_file_range``), falling back to :func:`shutil.copyfile`."""
    src = os.open(source, os.O_RDONLY)
    try:
        _copy_from(src, source, dest, size)
    finally:
        os.close(src)


def _copy_from(src: int, source: str | os.PathLike[str], dest: str | os.PathLike[str], size: int) -> None:
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        done = os.copy_file_range(src, out, size or 1 << 30)  # size 0: maybe a procfs-like file, copy to EOF
        while done:  # one call copies a small file; loop until EOF for the rest
            done = os.copy_file_range(src, out, 1 << 30)
    except OSError:
        os.close(out)
        out = -1
        os.unlink(dest)
        shutil.copyfile(source, dest)  # another file system without support, ...
    finally:
        if out >= 0:
            os.close(out)


def place_copy(source: str | os.PathLike[str], dest: str | os.PathLike[str], pool: ThreadPoolExecutor) -> Future | None:
    """Copy ``source`` to ``dest``: inline when small, on ``pool`` (returned future) when :data:`BIG` or more.

    The source is opened without blocking (a named pipe must not hang) and checked with ``fstat``: a pipe or
    a device goes to :func:`shutil.copyfile`, which refuses it with a clear error.
    """
    src = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(src)
        if not stat.S_ISREG(info.st_mode):
            shutil.copyfile(source, dest)
            return None
        if info.st_size < BIG:
            _copy_from(src, source, dest, info.st_size)
            return None
    finally:
        os.close(src)
    return pool.submit(copy_file, source, dest)


def _widen(pipe: object) -> None:
    """Let :data:`_PIPE_BYTES` wait in the pipe (Linux), so that a busy helper does not stall the converter."""
    setter = getattr(fcntl, 'F_SETPIPE_SZ', None) if fcntl is not None else None
    if setter is None or not hasattr(pipe, 'fileno'):
        return
    try:
        fcntl.fcntl(pipe.fileno(), setter, _PIPE_BYTES)
    except OSError:
        pass  # above /proc/sys/fs/pipe-max-size for this user: keep the default


def _failure(exc: OSError) -> tuple[str, int | None, str | None, str | None, str]:
    filename = exc.filename if isinstance(exc.filename, str) else None
    return type(exc).__name__, exc.errno, exc.strerror, filename, str(exc)


def _as_error(failure: tuple[str, int | None, str | None, str | None, str]) -> OSError:
    kind, errno, strerror, filename, message = failure
    if kind == 'SpecialFileError':
        return shutil.SpecialFileError(message)
    if errno is not None and strerror is not None:
        return OSError(errno, strerror, filename) if filename is not None else OSError(errno, strerror)
    return OSError(message)


class FileHelper:
    """The parent's end: :meth:`write` and :meth:`copy` queue operations; :meth:`finish` waits and raises."""

    def __init__(self, limit: int) -> None:
        command = [sys.executable, '-I', '-S', os.path.abspath(__file__), str(limit)]
        self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        _widen(self._process.stdin)
        self._batch: list[tuple[int, str, object]] = []
        self._size = 0
        self._ops = 16  #: batch length that triggers a send: small at first so that the helper starts early

    @staticmethod
    def available() -> bool:
        """Whether a helper can be started (a real interpreter and this file on disk)."""
        return bool(sys.executable) and os.path.isfile(__file__)

    def write(self, path: str, data: bytes) -> None:
        """Queue: create ``path`` with ``data``."""
        self._batch.append((_WRITE, path, data))
        self._size += len(data) + len(path)
        if self._size >= _BATCH_BYTES or len(self._batch) >= self._ops:
            self._send()

    def copy(self, source: str, dest: str) -> None:
        """Queue: copy ``source`` to ``dest``."""
        self._batch.append((_COPY, dest, source))
        self._size += len(source) + len(dest)
        if self._size >= _BATCH_BYTES or len(self._batch) >= self._ops:
            self._send()

    def _send(self) -> None:
        frame = marshal.dumps(self._batch)
        self._batch, self._size = [], 0
        self._ops = min(2 * self._ops, _BATCH_OPS)
        pipe = self._process.stdin
        assert pipe is not None
        try:
            pipe.write(len(frame).to_bytes(4, 'little') + frame)
        except BrokenPipeError:
            self.finish()  # raises what stopped the helper
            raise

    def finish(self) -> None:
        """Send what is queued, wait for the helper, raise its first failure."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        try:
            if self._batch and not process.stdin.closed:
                self._send()
        except BrokenPipeError:
            pass
        finally:
            try:
                process.stdin.close()
            except BrokenPipeError:
                pass
        raw = process.stdout.read()
        process.stdout.close()
        code = process.wait()
        failure = marshal.loads(raw) if raw else None
        if failure is not None:
            raise _as_error(failure)
        if code != 0 or not raw:
            raise OSError(f'the file helper process stopped with exit code {code} before finishing the output')

    def abort(self) -> None:
        """Stop the helper now; when this returns nothing more is written."""
        process = self._process
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                try:
                    pipe.close()
                except BrokenPipeError:
                    pass


def _serve(limit: int) -> int:
    """The helper's loop: read batches until EOF, stop working at the first failure, report it."""
    source = sys.stdin.buffer
    failure = None
    futures: list[Future] = []
    with ThreadPoolExecutor(max_workers=limit) as pool:
        while True:
            head = source.read(4)
            if len(head) < 4:
                break
            batch = marshal.loads(source.read(int.from_bytes(head, 'little')))
            if failure is not None:
                continue  # drain, so that the parent never blocks on a full pipe
            try:
                for kind, path, payload in batch:
                    if kind == _WRITE:
                        write_file(path, payload)
                    else:
                        future = place_copy(payload, path, pool)
                        if future is not None:
                            futures.append(future)
            except OSError as exc:
                failure = _failure(exc)
        for future in futures:
            error = future.exception()
            if failure is None and isinstance(error, OSError):
                failure = _failure(error)
    sys.stdout.buffer.write(marshal.dumps(failure))
    sys.stdout.buffer.flush()
    return 0


if __name__ == '__main__':
    sys.exit(_serve(int(sys.argv[1])))
