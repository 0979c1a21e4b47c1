"""Transport, request description, retries and pagination shared by every client."""

from synapse_sdk.clients.base.call import Call, encode_params
from synapse_sdk.clients.base.client import AsyncHTTPClient, HTTPClient
from synapse_sdk.clients.base.pagination import PageFlow
from synapse_sdk.clients.base.retry import RetryBudget, RetryPolicy

__all__ = [
    'AsyncHTTPClient',
    'Call',
    'HTTPClient',
    'PageFlow',
    'RetryBudget',
    'RetryPolicy',
    'encode_params',
]
