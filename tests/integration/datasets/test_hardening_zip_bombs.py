"""Real zip bombs given to `synapse dataset convert` and to the dataset download: refused fast, nothing left on disk.

The bombs are real archives: deflate streams of zeros built by compressing one 1 MiB block with a full
flush and repeating its (identical) output, so a 3 GiB member costs 3 MiB and no 3 GiB pass to build.
"""

from __future__ import annotations

import os
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.integration.conftest import ServerThread
from typer.testing import CliRunner

from synapse_sdk.cli import app
from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.actions.dataset.download import fetch_dataset

MiB = 1 << 20
GiB = 1 << 30
runner = CliRunner()


@dataclass(frozen=True)
class Member:
    name: str
    mib_of_zeros: int = 0  #: what the member really holds, as a deflate stream
    text: bytes = b''  #: or these bytes, stored
    declared_size: int | None = None  #: the uncompressed size written in the headers (a lie when set)


def _zeros_stream(blocks: int) -> tuple[bytes, int]:
    """``(raw deflate stream of blocks MiB of zeros, its CRC-32)``."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(bytes(MiB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc, zeros = 0, bytes(MiB)
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    return block * blocks + compressor.flush(), crc


def write_zip(path: Path, members: list[Member]) -> Path:
    """A zip written header by header (``zipfile`` would have to compress every byte of a bomb)."""
    body, central = bytearray(), bytearray()
    for member in members:
        if member.mib_of_zeros:
            data, crc, method, size = *_zeros_stream(member.mib_of_zeros), 8, member.mib_of_zeros * MiB
        else:
            data, crc, method, size = member.text, zlib.crc32(member.text), 0, len(member.text)
        declared = size if member.declared_size is None else member.declared_size
        name = member.name.encode()
        fields = (20, 0, method, 0, 0x21, crc, len(data), declared, len(name), 0)
        central += struct.pack('<4s2H', b'PK\x01\x02', 0x0314, 20) + struct.pack('<4H3L2H', *fields[1:])
        central += struct.pack('<3H2L', 0, 0, 0, 0o100644 << 16, len(body)) + name
        body += struct.pack('<4sH', b'PK\x03\x04', 20) + struct.pack('<4H3L2H', *fields[1:]) + name + data
    end = struct.pack('<4s4H2LH', b'PK\x05\x06', 0, 0, len(members), len(members), len(central), len(body), 0)
    path.write_bytes(bytes(body + central + end))
    return path


@pytest.fixture(scope='module', autouse=True)
def warm_cli() -> None:
    """Import the command's modules first, so the figures measure the refusal, not the imports."""
    assert runner.invoke(app, ['dataset', 'convert', '--help']).exit_code == 0
    from synapse_sdk.plugins.datasets import converter  # noqa: F401


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder extraction happens in: it must hold nothing after a refusal."""
    folder = tmp_path / 'scratch'
    folder.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(folder))
    return folder


def measured(label: str, call: Callable[[], Any]) -> tuple[Any, float, int]:
    """Run ``call``; ``(its result, seconds, peak bytes allocated meanwhile)``, printed under ``label``."""
    tracemalloc.start()
    started = time.perf_counter()
    result = call()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f'{label}: {seconds * 1000:.1f} ms, peak {peak / MiB:.2f} MiB')
    return result, seconds, peak


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob('*'))


def cli_convert(archive: Path, out: Path) -> Any:
    return runner.invoke(app, ['dataset', 'convert', str(archive), str(out), '--from', 'yolo', '--to', 'coco'])


def test_the_bomb_is_real(tmp_path: Path):
    archive = write_zip(tmp_path / 'bomb.zip', [Member('big.bin', mib_of_zeros=3 * 1024)])
    with zipfile.ZipFile(archive) as zf:
        (info,) = zf.infolist()
        assert (info.file_size, archive.stat().st_size < 4 * MiB) == (3 * GiB, True)
        with zf.open(info) as member:  # what zipfile reads really is zeros
            assert member.read(8 * MiB) == bytes(8 * MiB)


def test_a_3_gib_member_in_3_mib_is_refused_before_extracting(tmp_path: Path, scratch: Path):
    archive = write_zip(tmp_path / 'bomb.zip', [Member('ds/images/a.txt', text=b'x'), Member('ds/big.bin', 3 * 1024)])
    result, seconds, peak = measured('3 GiB single-member bomb', lambda: cli_convert(archive, tmp_path / 'out'))
    assert result.exit_code == 1
    packed = archive.stat().st_size
    assert ' '.join(result.stderr.split()) == (
        f'Error: bomb.zip: expands {(3 * GiB + 1) // packed}x ({3 * GiB + 1} bytes from {packed}), more than the '
        '100x allowed (SYNAPSE_DATASET_MAX_RATIO); refused as a possible zip bomb, nothing was extracted'
    )
    assert seconds < 1.0
    assert peak < 50 * MiB
    assert (files_under(scratch), sorted(os.listdir(tmp_path))) == ([], ['bomb.zip', 'scratch'])


def test_many_members_are_refused_by_the_archive_ratio(tmp_path: Path, scratch: Path):
    members = [Member(f'ds/labels/{i}.txt', mib_of_zeros=1) for i in range(2000)]  # 2000 MiB of zeros
    archive = write_zip(tmp_path / 'many.zip', members)
    result, seconds, peak = measured('2000-member bomb', lambda: cli_convert(archive, tmp_path / 'out'))
    assert result.exit_code == 1
    assert 'Error: many.zip: expands ' in result.stderr and 'refused as a possible zip bomb' in result.stderr
    assert seconds < 1.0
    assert peak < 50 * MiB
    assert files_under(scratch) == []


def test_one_big_member_among_real_files_is_refused_by_its_own_ratio(tmp_path: Path, scratch: Path):
    filler = os.urandom(40 * MiB)  # incompressible: keeps the whole archive's ratio near 1
    members = [Member('ds/images/noise.bin', text=filler), Member('ds/labels/zeros.txt', mib_of_zeros=512)]
    archive = write_zip(tmp_path / 'mixed.zip', members)
    result, seconds, peak = measured('bomb member among real files', lambda: cli_convert(archive, tmp_path / 'out'))
    assert result.exit_code == 1
    assert "Error: mixed.zip: member 'ds/labels/zeros.txt' expands " in result.stderr
    assert seconds < 1.0
    assert peak < 50 * MiB
    assert files_under(scratch) == []


def test_sizes_that_lie_are_caught_while_extracting_and_nothing_stays(tmp_path: Path, scratch: Path):
    members = [
        Member('ds/images/a.txt', text=b'extracted first'),
        Member('ds/labels/a.txt', mib_of_zeros=3 * 1024, declared_size=1024),  # claims 1 KiB, holds 3 GiB
    ]
    archive = write_zip(tmp_path / 'liar.zip', members)
    result, seconds, peak = measured('lying 3 GiB member', lambda: cli_convert(archive, tmp_path / 'out'))
    assert result.exit_code == 1
    assert "Error: liar.zip: member 'ds/labels/a.txt' cannot be read (Bad CRC-32" in ' '.join(result.stderr.split())
    assert 'nothing was kept' in result.stderr
    assert seconds < 1.0
    assert peak < 50 * MiB
    assert (files_under(scratch), sorted(os.listdir(tmp_path))) == ([], ['liar.zip', 'scratch'])


class _Serve:
    """An ASGI app answering every GET with one archive's bytes."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b'content-type', b'application/zip'), (b'content-length', str(len(self.data)).encode())]
        await send({'type': 'http.response.start', 'status': 200, 'headers': headers})
        await send({'type': 'http.response.body', 'body': self.data})


@pytest.fixture
def served_bomb(tmp_path: Path) -> Iterator[str]:
    archive = write_zip(tmp_path / 'served.zip', [Member('ds/big.bin', mib_of_zeros=3 * 1024)])
    with ServerThread(_Serve(archive.read_bytes())) as base_url:
        yield f'{base_url}dataset.zip'


@pytest.mark.integration
def test_a_downloaded_bomb_is_refused_and_leaves_nothing(tmp_path: Path, scratch: Path, served_bomb: str):
    def fetch() -> Exception | None:
        try:
            fetch_dataset(served_bomb, tmp_path / 'downloaded')
        except ValidationError as exc:
            return exc
        return None

    error, seconds, peak = measured('downloaded 3 GiB bomb (download + refusal)', fetch)
    assert isinstance(error, ValidationError)
    assert str(error).startswith('dataset.zip: expands ') and 'refused as a possible zip bomb' in str(error)
    assert seconds < 5.0  # a 3 MiB download on 127.0.0.1, then the refusal
    assert peak < 50 * MiB
    assert files_under(scratch) == []
    assert not (tmp_path / 'downloaded').exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('.')] == []  # no staging folder left
