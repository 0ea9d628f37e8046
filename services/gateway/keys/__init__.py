"""Tenants and their API keys: minting and verifying keys, and the keys' use cases."""

from __future__ import annotations

from services.gateway.keys.api_key import KeyVerifier
from services.gateway.keys.service import (
    IssuedKey,
    create_tenant,
    find_tenant,
    issue_key,
    list_tenants,
)

__all__ = ["IssuedKey", "KeyVerifier", "create_tenant", "find_tenant", "issue_key", "list_tenants"]
