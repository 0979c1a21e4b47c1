"""Clients of the platform's backend API."""

from synapse_sdk.clients.backend.client import AsyncBackendClient, BackendClient, backend_auth_headers

__all__ = ['AsyncBackendClient', 'BackendClient', 'backend_auth_headers']
