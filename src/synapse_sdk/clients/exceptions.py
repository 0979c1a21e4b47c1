"""The client branch of :mod:`synapse_sdk.exceptions`, re-exported for ``from ...clients.exceptions import``."""

from synapse_sdk.exceptions import (
    AuthenticationError,
    AuthError,
    AuthorizationError,
    ClientConnectionError,
    ClientError,
    ClientTimeoutError,
    NotFoundError,
    RateLimitError,
    RequestValidationError,
    ServerError,
    client_error_for_status,
)

__all__ = [
    'AuthError',
    'AuthenticationError',
    'AuthorizationError',
    'ClientConnectionError',
    'ClientError',
    'ClientTimeoutError',
    'NotFoundError',
    'RateLimitError',
    'RequestValidationError',
    'ServerError',
    'client_error_for_status',
]
