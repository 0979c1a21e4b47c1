"""A dataset ``.zip`` with unsafe member names or links, or over a limit, is refused whole; nothing stays on disk."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from tests.support.dataset_builders import box, write_dm_item

from synapse_sdk.exceptions import ValidationError
from synapse_sdk.plugins.datasets import get_converter
from synapse_sdk.plugins.datasets._paths import extract_zip


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the converter extracts into: must be empty again after every refusal."""
    folder = tmp_path / 'scratch'
    folder.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(folder))
    return folder


def dataset_zip(path: Path, extra: list[zipfile.ZipInfo | str]) -> Path:
    """A real DM v2 dataset zipped under ``ds/``, plus ``extra`` members (a name: a small text file)."""
    source = path.parent / 'src'
    write_dm_item(source / 'ds', 'a', {'bounding_box': [box('b', 'car', [10, 20, 50, 40])]})
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as zf:
        for file in sorted((source / 'ds').rglob('*')):
            zf.write(file, file.relative_to(source).as_posix())
        for member in extra:
            zf.writestr(member, 'x')
    shutil.rmtree(source)
    return path


def link(name: str) -> zipfile.ZipInfo:
    """A symlink member (its content, written by :func:`dataset_zip`, is the link's target)."""
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16) | 0x20
    info.create_system = 3  # unix: external_attr's high bits are its mode
    return info


@pytest.mark.parametrize(
    'member',
    ['/etc/cron.d/evil', '../evil.txt', 'ds/../../evil.txt', '..\\evil.txt', 'C:/evil.txt', './../evil.txt'],
    ids=['absolute', 'dotdot', 'nested-dotdot', 'backslash-dotdot', 'drive', 'dot-dotdot'],
)
def test_zip_slip_members_refuse_the_whole_archive(tmp_path: Path, scratch: Path, member: str):
    archive = dataset_zip(tmp_path / 'data.zip', [member])
    message = f"data.zip: unsafe member path '{member}' (absolute, '..' or a link); nothing was extracted"
    with pytest.raises(ValidationError, match=f'^{re.escape(message)}$'):
        get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out')
    assert (sorted(os.listdir(tmp_path)), os.listdir(scratch)) == (['data.zip', 'scratch'], [])


def test_a_symlink_member_is_refused(tmp_path: Path, scratch: Path):
    archive = dataset_zip(tmp_path / 'data.zip', [link('ds/original_files/b.png')])
    with pytest.raises(ValidationError, match=r"^data.zip: unsafe member path 'ds/original_files/b.png' \("):
        get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out')
    assert os.listdir(scratch) == []


def test_too_many_members_is_refused_by_the_limit(tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch):
    archive = dataset_zip(tmp_path / 'data.zip', [f'ds/extra/{i}.txt' for i in range(10)])  # + 3 folders, 2 files
    monkeypatch.setenv('SYNAPSE_DATASET_MAX_MEMBERS', '10')
    with pytest.raises(
        ValidationError, match=r'^data.zip: 14 members, more than the 10 allowed \(SYNAPSE_DATASET_MAX_'
    ):
        get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out')
    monkeypatch.setenv('SYNAPSE_DATASET_MAX_MEMBERS', '14')
    assert get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out').items_written == 1
    assert os.listdir(scratch) == []


def test_the_unpacked_limit_counts_declared_sizes(tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch):
    archive = dataset_zip(tmp_path / 'data.zip', [])
    with zipfile.ZipFile(archive) as zf:
        total = sum(info.file_size for info in zf.infolist())
    monkeypatch.setenv('SYNAPSE_DATASET_MAX_UNPACKED_BYTES', str(total - 1))
    with pytest.raises(ValidationError, match=rf'^data.zip: its members declare {total} bytes, more than the'):
        get_converter('dm_v2', 'yolo').convert(archive, tmp_path / 'out')
    assert os.listdir(scratch) == []


@pytest.mark.parametrize('raw', ['0', '-5', 'lots', '1e9'])
def test_a_bad_limit_variable_names_itself_and_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, raw: str):
    archive = dataset_zip(tmp_path / 'data.zip', [])
    monkeypatch.setenv('SYNAPSE_DATASET_MAX_RATIO', raw)
    with pytest.raises(ValidationError) as info:
        extract_zip(archive, tmp_path / 'x')
    assert str(info.value) == (
        f'SYNAPSE_DATASET_MAX_RATIO must be a positive whole number, got {raw!r}; unset it to use the default (100)'
    )


def test_members_that_clash_leave_nothing_behind(tmp_path: Path):
    archive = tmp_path / 'data.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        zf.writestr('ds/a', 'a file')
        zf.writestr('ds/a/b.txt', 'below a file')
    dest = tmp_path / 'dest'
    dest.mkdir()
    (dest / 'kept.txt').write_text('was here before')
    with pytest.raises(ValidationError, match=r"^data.zip: member 'ds/a/b.txt' clashes with another member"):
        extract_zip(archive, dest)
    assert os.listdir(dest) == ['kept.txt']


def test_a_good_archive_extracts_with_backslash_names_as_folders(tmp_path: Path):
    archive = tmp_path / 'data.zip'
    with zipfile.ZipFile(archive, 'w') as zf:
        zf.writestr('ds\\json\\a.json', '{}')
        zf.writestr('ds/empty/', '')
    assert extract_zip(archive, tmp_path / 'dest') == ['ds\\json\\a.json', 'ds/empty/']
    assert sorted(p.relative_to(tmp_path / 'dest').as_posix() for p in (tmp_path / 'dest').rglob('*')) == [
        'ds',
        'ds/empty',
        'ds/json',
        'ds/json/a.json',
    ]
