"""The platform's storage shape, ``{'provider': ..., 'configuration': {...}}``, validated per provider.

Credentials are :class:`~pydantic.SecretStr`: they never show in a repr, a log line or an error (validation
errors are rebuilt from the field names and pydantic's messages, without the input values).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from synapse_sdk.utils.storage.errors import StorageConfigError

__all__ = [
    'PROVIDERS',
    'GCSConfig',
    'HTTPConfig',
    'LocalConfig',
    'ProviderConfig',
    'S3Config',
    'SFTPConfig',
    'StorageSpec',
    'parse_storage_config',
]

Provider = Literal['local', 's3', 'gcs', 'sftp', 'http']


class _Config(BaseModel):
    model_config = ConfigDict(extra='ignore', frozen=True, populate_by_name=True)

    def secrets(self) -> tuple[str, ...]:
        """Every credential value, to be masked in any message."""
        values = [getattr(self, name) for name in type(self).model_fields]
        found = [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
        for value in values:
            if isinstance(value, Mapping):
                found += [v.get_secret_value() for v in value.values() if isinstance(v, SecretStr)]
        return tuple(s for s in found if s)


def _clean_prefix(value: str) -> str:
    return value.strip('/')


class LocalConfig(_Config):
    """A directory on this machine."""

    location: str = Field(min_length=1, validation_alias=AliasChoices('location', 'path', 'root'))


class S3Config(_Config):
    """AWS S3, or any S3-compatible server through ``endpoint_url`` (MinIO, Ceph, moto...)."""

    bucket_name: str = Field(min_length=3, max_length=63)
    access_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    session_token: SecretStr | None = None
    region_name: str | None = None
    endpoint_url: str | None = None
    prefix: str = Field(default='', validation_alias=AliasChoices('prefix', 'location', 'path'))

    _prefix = field_validator('prefix')(_clean_prefix)


class GCSConfig(_Config):
    """Google Cloud Storage (gcsfs); ``credentials``: a service-account JSON (text or object) or a key file path."""

    bucket_name: str = Field(min_length=3, max_length=222)
    credentials: SecretStr | None = None
    project: str | None = None
    prefix: str = Field(default='', validation_alias=AliasChoices('prefix', 'location', 'path'))

    _prefix = field_validator('prefix')(_clean_prefix)

    @field_validator('credentials', mode='before')
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        return json.dumps(dict(value)) if isinstance(value, Mapping) else value


class SFTPConfig(_Config):
    """An SSH server (sshfs over asyncssh): a password or a private key file; host keys checked by default."""

    host: str = Field(min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1, validation_alias=AliasChoices('username', 'user'))
    password: SecretStr | None = None
    private_key: str | None = Field(default=None, description='path of a private key file')
    passphrase: SecretStr | None = None
    root: str = Field(default='/', validation_alias=AliasChoices('root', 'location', 'path'))
    known_hosts: str | None = Field(default=None, description='known_hosts file; default: ~/.ssh/known_hosts')
    verify_host_key: bool = True


class HTTPConfig(_Config):
    """Files served over HTTP(S): read-only (``exists``, ``get_url``, reading)."""

    base_url: str = Field(min_length=1, validation_alias=AliasChoices('base_url', 'url', 'location'))
    headers: dict[str, SecretStr] = Field(default_factory=dict)

    @field_validator('base_url')
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(('http://', 'https://')):
            raise ValueError('must start with http:// or https://')
        return value if value.endswith('/') else value + '/'


ProviderConfig = LocalConfig | S3Config | GCSConfig | SFTPConfig | HTTPConfig

PROVIDERS: dict[str, type[_Config]] = {
    'local': LocalConfig,
    'file_system': LocalConfig,
    's3': S3Config,
    'amazon_s3': S3Config,
    'minio': S3Config,
    'gcs': GCSConfig,
    'gcp': GCSConfig,
    'sftp': SFTPConfig,
    'http': HTTPConfig,
    'https': HTTPConfig,
}

_CANONICAL = {'file_system': 'local', 'amazon_s3': 's3', 'minio': 's3', 'gcp': 'gcs', 'https': 'http'}


class StorageSpec(BaseModel):
    """A validated storage: its provider and that provider's configuration."""

    model_config = ConfigDict(frozen=True)

    provider: Provider
    configuration: LocalConfig | S3Config | GCSConfig | SFTPConfig | HTTPConfig
    name: str | None = None


def _describe(exc: ValidationError, where: str) -> str:
    """The errors by field, without their input values (they may be credentials)."""
    parts = []
    for err in exc.errors(include_input=False, include_url=False):
        field = '.'.join(str(p) for p in err['loc']) or '(root)'
        parts.append(f'{where}.{field}: {err["msg"]}')
    return '; '.join(parts)


def parse_storage_config(config: Mapping[str, Any]) -> StorageSpec:
    """``{'provider': 's3', 'configuration': {...}}`` (or a backend storage record) → :class:`StorageSpec`."""
    if not isinstance(config, Mapping):
        raise StorageConfigError(
            "storage config must be a mapping {'provider': ..., 'configuration': {...}}, "
            f'got {type(config).__name__}'
        )
    provider = config.get('provider')
    if not isinstance(provider, str) or provider.lower() not in PROVIDERS:
        choices = ', '.join(sorted({_CANONICAL.get(p, p) for p in PROVIDERS}))
        raise StorageConfigError(f'provider: {provider!r} is not a storage provider; use one of: {choices}')
    key = provider.lower()
    raw = config.get('configuration', {})
    if not isinstance(raw, Mapping):
        raise StorageConfigError(f'configuration: must be a mapping of the {key} settings, got {type(raw).__name__}')
    try:
        parsed = PROVIDERS[key].model_validate(dict(raw))
    except ValidationError as exc:
        raise StorageConfigError(f'invalid {key} storage: {_describe(exc, "configuration")}') from None
    name = config.get('name')
    return StorageSpec(
        provider=_CANONICAL.get(key, key),
        configuration=parsed,
        name=name if isinstance(name, str) else None,
    )
