"""Transport, request description and pagination shared by every client."""

from synapse_sdk.clients.base.call import Call, encode_params
from synapse_sdk.clients.base.client import AsyncHTTPClient, HTTPClient
from synapse_sdk.clients.base.pagination import PageFlow
from synapse_sdk.clients.base.retry import AsyncRetryTransport, RetryPolicy, RetryTransport

__all__ = [
    'AsyncHTTPClient',
    'AsyncRetryTransport',
    'Call',
    'HTTPClient',
    'PageFlow',
    'RetryPolicy',
    'RetryTransport',
    'encode_params',
]
