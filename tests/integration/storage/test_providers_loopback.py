"""Every writable provider against a real server on 127.0.0.1: S3 (moto), SFTP (asyncssh), local; HTTP read-only."""

from __future__ import annotations

import hashlib
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.storage.servers import (
    ACCESS_KEY,
    SECRET_KEY,
    SFTP_PASSWORD,
    S3Server,
    asyncssh_sftp,
    moto_s3,
    static_http,
)

from synapse_sdk.utils.storage import (
    Storage,
    StorageError,
    StorageNotFoundError,
    StorageReadOnlyError,
    get_storage,
)

pytestmark = pytest.mark.integration

SECRETS = (ACCESS_KEY, SECRET_KEY, SFTP_PASSWORD)


@pytest.fixture(scope='module')
def s3() -> Iterator[S3Server]:
    with moto_s3() as server:
        yield server


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    path = tmp_path / 'src' / 'photo 1.jpg'
    path.parent.mkdir()
    path.write_bytes(b'\xff\xd8' + bytes(range(256)) * 4096)  # ~1 MiB: more than one streamed chunk
    return path


@pytest.fixture(params=['local', 's3', 'sftp'])
def storage(request: pytest.FixtureRequest, tmp_path: Path, s3: S3Server) -> Iterator[Storage]:
    if request.param == 'local':
        (tmp_path / 'local').mkdir()
        yield get_storage({'provider': 'local', 'configuration': {'location': str(tmp_path / 'local')}})
    elif request.param == 's3':
        bucket = f'bucket-{abs(hash(tmp_path.name)) % 10**8}'
        s3.create_bucket(bucket)
        yield get_storage(s3.config(bucket, prefix='incoming'))
    else:
        with asyncssh_sftp(tmp_path) as server:
            yield get_storage(server.config())


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_upload_exists_read_list_and_checksum(storage: Storage, sample: Path) -> None:
    url = storage.upload(sample, 'images/2024/photo 1.jpg')
    assert url == storage.get_url('images/2024/photo 1.jpg')
    assert url.endswith('/images/2024/photo%201.jpg')
    assert_no_secret(url)
    assert storage.exists('images/2024/photo 1.jpg')
    assert not storage.exists('images/2024/missing.jpg')
    assert storage.read_bytes('images/2024/photo 1.jpg') == sample.read_bytes()
    digest, size = storage.checksum('images/2024/photo 1.jpg')
    assert (digest, size) == (hashlib.sha256(sample.read_bytes()).hexdigest(), sample.stat().st_size)

    storage.upload(sample, 'images/top.jpg')
    assert storage.files('images') == ['images/top.jpg']
    assert storage.files('images', recursive=True) == ['images/2024/photo 1.jpg', 'images/top.jpg']
    assert sorted(storage.relative(p) for p in storage.glob('**/*.jpg')) == [
        'images/2024/photo 1.jpg',
        'images/top.jpg',
    ]
    assert {storage.relative(p) for p in storage.iterdir('images')} == {'images/2024', 'images/top.jpg'}
    with storage.open('images/top.jpg') as fh:
        assert fh.read(2) == b'\xff\xd8'
    assert storage.get_pathlib('images/top.jpg').read_bytes() == sample.read_bytes()


def test_missing_paths_and_escapes_raise_clear_errors(storage: Storage, sample: Path) -> None:
    with pytest.raises(StorageNotFoundError, match=r"'nope\.jpg' not found"):
        storage.read_bytes('nope.jpg')
    with pytest.raises(StorageError, match=r'climbs above the storage root'):
        storage.upload(sample, '../outside.jpg')
    with pytest.raises(StorageError, match=r'upload target is empty'):
        storage.upload(sample, '')


def test_provider_errors_and_reprs_never_show_credentials(
    storage: Storage, s3: S3Server, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert_no_secret(repr(storage))
    assert_no_secret(repr(storage.spec))
    assert_no_secret(repr(storage.get_pathlib('x')))
    broken = get_storage(s3.config('no-such-bucket'))
    with pytest.raises(StorageError) as info:
        broken.files()
    assert_no_secret(str(info.value))
    # at DEBUG botocore logs the signed request headers, which name the access key *id* (AWS's public half);
    # the secret key and passwords never reach a log at any level, and at INFO nothing does
    debug = caplog.text
    assert SECRET_KEY not in debug and SFTP_PASSWORD not in debug
    assert_no_secret('\n'.join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO))


def test_s3_presigned_url_reads_a_private_object(s3: S3Server, sample: Path) -> None:
    s3.create_bucket('signed')
    storage = get_storage(s3.config('signed'))
    storage.upload(sample, 'a.jpg')
    with pytest.raises(urllib.error.HTTPError):  # the plain URL of a private object is refused
        urllib.request.urlopen(storage.get_url('a.jpg'), timeout=10)
    signed = storage.sign_url('a.jpg', expires=60)
    assert SECRET_KEY not in signed
    with urllib.request.urlopen(signed, timeout=10) as reply:
        assert reply.read() == sample.read_bytes()


def test_sftp_refuses_an_unknown_host_key(tmp_path: Path) -> None:
    with asyncssh_sftp(tmp_path) as server:
        other = tmp_path / 'other_known_hosts'
        other.write_text('')
        storage = get_storage(server.config(known_hosts=str(other)))
        with pytest.raises(StorageError) as info:
            storage.exists('x')
        assert_no_secret(str(info.value))


def test_sftp_refuses_a_wrong_password(tmp_path: Path) -> None:
    with asyncssh_sftp(tmp_path) as server:
        storage = get_storage(server.config(password='wrong-password-123'))
        with pytest.raises(StorageError) as info:
            storage.exists('x')
        assert 'wrong-password-123' not in str(info.value)


def test_http_storage_reads_and_refuses_writes(tmp_path: Path, sample: Path) -> None:
    site = tmp_path / 'site'
    (site / 'images').mkdir(parents=True)
    (site / 'images' / 'a.jpg').write_bytes(sample.read_bytes())
    with static_http(site) as base_url:
        storage = get_storage({'provider': 'http', 'configuration': {'base_url': base_url}})
        assert storage.exists('images/a.jpg')
        assert not storage.exists('images/missing.jpg')
        assert storage.get_url('images/a.jpg') == f'{base_url}images/a.jpg'
        assert storage.read_bytes('images/a.jpg') == sample.read_bytes()
        assert storage.checksum('images/a.jpg')[0] == hashlib.sha256(sample.read_bytes()).hexdigest()
        with pytest.raises(StorageReadOnlyError, match=r'read-only'):
            storage.upload(sample, 'images/b.jpg')
        with pytest.raises(StorageReadOnlyError, match=r'read-only'), storage.open('images/b.jpg', 'wb'):
            pass
