"""Storage configs, errors and reprs (no server needed); GCS is covered here only: there is no emulator to run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from synapse_sdk.utils.storage import (
    Storage,
    StorageConfigError,
    StorageError,
    StorageSpec,
    get_storage,
    parse_storage_config,
)
from synapse_sdk.utils.storage.base import relative_target

SECRET = 'very-secret-key-0123456789'


def s3_config(**extra: Any) -> dict[str, Any]:
    configuration = {'bucket_name': 'my-bucket', 'access_key': 'AKIAUNITTEST', 'secret_key': SECRET, **extra}
    return {'provider': 's3', 'configuration': configuration}


def test_provider_shapes_and_aliases() -> None:
    assert (
        parse_storage_config({'provider': 'amazon_s3', 'configuration': s3_config()['configuration']}).provider == 's3'
    )
    local = parse_storage_config({'provider': 'file_system', 'configuration': {'path': '/data'}})
    assert (local.provider, local.configuration.location) == ('local', '/data')  # type: ignore[union-attr]
    http = parse_storage_config({'provider': 'http', 'configuration': {'url': 'https://files.example/x'}})
    assert http.configuration.base_url == 'https://files.example/x/'  # type: ignore[union-attr]
    sftp = parse_storage_config({'provider': 'sftp', 'configuration': {'host': 'h', 'user': 'u'}})
    assert (sftp.configuration.port, sftp.configuration.verify_host_key) == (22, True)  # type: ignore[union-attr]


def test_unknown_provider_lists_the_choices() -> None:
    with pytest.raises(StorageConfigError, match=r"provider: 'ftp' is not a storage provider; use one of: gcs, http"):
        parse_storage_config({'provider': 'ftp', 'configuration': {}})


def test_invalid_fields_are_named_without_their_values() -> None:
    bad = {'provider': 'sftp', 'configuration': {'host': 'h', 'username': 'u', 'port': SECRET, 'password': 42}}
    with pytest.raises(StorageConfigError) as info:
        parse_storage_config(bad)
    text = str(info.value)
    assert 'configuration.port' in text and 'configuration.password' in text
    assert SECRET not in text and '42' not in text
    assert info.value.__cause__ is None  # pydantic's error (which shows inputs) is not chained
    with pytest.raises(StorageConfigError, match=r'configuration\.bucket_name: Field required'):
        parse_storage_config({'provider': 's3', 'configuration': {'secret_key': SECRET}})
    with pytest.raises(StorageConfigError, match=r'configuration\.base_url: Value error, must start with http'):
        parse_storage_config({'provider': 'http', 'configuration': {'base_url': 'ftp://x'}})


def test_reprs_and_dumps_never_show_credentials(tmp_path: Path) -> None:
    spec = parse_storage_config(s3_config(session_token=SECRET + 'tok'))
    assert SECRET not in repr(spec) and SECRET not in str(spec.model_dump())
    assert spec.configuration.secrets() == ('AKIAUNITTEST', SECRET, SECRET + 'tok')
    storage = get_storage(spec)
    assert SECRET not in repr(storage) and SECRET not in repr(storage.get_pathlib('a/b.jpg'))
    assert repr(storage) == "Storage(provider='s3', root='https://my-bucket.s3.us-east-1.amazonaws.com/')"


def test_provider_errors_are_masked() -> None:
    storage = get_storage(s3_config())
    with pytest.raises(StorageError) as info, storage._guard('read', 'a.jpg'):
        raise RuntimeError(f'denied for secret {SECRET} at password=hunter22')
    assert SECRET not in str(info.value) and 'hunter22' not in str(info.value)
    assert str(info.value).startswith("s3 storage: read 'a.jpg' failed: RuntimeError: denied for secret ***")


def test_urls_per_provider(tmp_path: Path) -> None:
    assert get_storage(s3_config(region_name='eu-west-1', prefix='/in/')).get_url('a b.jpg') == (
        'https://my-bucket.s3.eu-west-1.amazonaws.com/in/a%20b.jpg'
    )
    assert get_storage(s3_config(endpoint_url='http://127.0.0.1:9000/')).get_url('x/y.jpg') == (
        'http://127.0.0.1:9000/my-bucket/x/y.jpg'
    )
    sftp = get_storage({'provider': 'sftp', 'configuration': {'host': 'h', 'username': 'me', 'password': SECRET}})
    assert sftp.get_url('d/f.txt') == 'sftp://me@h:22/d/f.txt'
    local = get_storage({'provider': 'local', 'configuration': {'location': str(tmp_path)}})
    assert local.get_url('f.txt') == (tmp_path / 'f.txt').resolve().as_uri()


def test_paths_may_not_climb_above_the_root() -> None:
    assert relative_target('/a//b/./c/../d.jpg') == 'a/b/d.jpg'
    with pytest.raises(StorageError, match=r'climbs above the storage root'):
        relative_target('a/../../etc/passwd')


def test_storage_ids_need_a_client_and_are_read_from_it(tmp_path: Path) -> None:
    with pytest.raises(StorageConfigError, match=r'id 3 needs a backend client; call get_storage\(3, client=\.\.\.\)'):
        get_storage(3)
    with pytest.raises(StorageConfigError, match=r"'bucket' is neither a storage id nor a config"):
        get_storage('bucket')

    class Backend:  # the one call get_storage makes: a stand-in for the backend's storages/{id}/ answer
        def get_storage(self, ident: int) -> dict[str, Any]:
            return {'id': ident, 'name': 'files', 'provider': 'local', 'configuration': {'location': str(tmp_path)}}

    storage = get_storage('7', client=Backend())
    assert (storage.provider, storage.spec.name) == ('local', 'files')
    assert get_storage(storage) is storage


def test_local_location_must_be_a_directory(tmp_path: Path) -> None:
    with pytest.raises(StorageConfigError, match=r'configuration\.location: .* is not a directory; create it first'):
        get_storage({'provider': 'local', 'configuration': {'location': str(tmp_path / 'missing')}})


def _service_account() -> dict[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        'type': 'service_account',
        'project_id': 'proj',
        'private_key_id': 'k1',
        'private_key': pem,
        'client_email': 'uploader@proj.iam.gserviceaccount.com',
        'client_id': '1',
        'token_uri': 'https://oauth2.googleapis.com/token',
    }


def verify_v2_signature(pem: str, query: dict[str, str], path: str) -> None:
    """GCS V2 signed URL: RSA-SHA256 over ``GET\\n\\n\\n<expires>\\n<path>`` (raises when it does not verify)."""
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    message = f'GET\n\n\n{query["Expires"]}\n{path}'.encode()
    key.public_key().verify(base64.b64decode(query['Signature']), message, padding.PKCS1v15(), hashes.SHA256())


def test_gcs_at_unit_level_credentials_urls_and_local_signing() -> None:
    info = _service_account()
    config = {'bucket_name': 'my-bucket', 'credentials': info, 'project': 'proj', 'prefix': 'data'}
    storage = get_storage({'provider': 'gcs', 'configuration': config})
    assert isinstance(storage, Storage) and storage.provider == 'gcs'
    assert str(storage.root) == 'gs://my-bucket/data'
    fs = storage.root.fs
    assert type(fs).__module__.startswith('gcsfs') and fs.project == 'proj'
    assert fs.credentials.credentials.service_account_email == info['client_email']
    assert storage.get_url('a b.jpg') == 'https://storage.googleapis.com/my-bucket/data/a%20b.jpg'
    assert info['private_key'] not in repr(storage.spec)
    signed = storage.sign_url('a.jpg', expires=60)  # signed locally with the service account's key
    parts = urlsplit(signed)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == '/my-bucket/data/a.jpg' and query['GoogleAccessId'] == info['client_email']
    verify_v2_signature(info['private_key'], query, parts.path)
    same = parse_storage_config({'provider': 'gcs', 'configuration': {**config, 'credentials': json.dumps(info)}})
    assert isinstance(same, StorageSpec) and same.configuration.secrets() == (json.dumps(info),)


def test_importing_the_plugin_stack_and_storage_loads_no_fsspec() -> None:
    code = (
        'import sys, json, synapse_sdk.plugins, synapse_sdk.utils.storage;'
        'from synapse_sdk.plugins import BaseUploadAction;'
        "print(json.dumps([m for m in ('fsspec', 'upath', 's3fs', 'gcsfs', 'sshfs') if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
