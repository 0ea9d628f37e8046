"""Logging with the request id of the current request on every line (see
``shared.observability.logs`` for the formats)."""

from __future__ import annotations

from shared.observability.context import request_id_var, tenant_id_var
from shared.observability.logs import configure_logging

__all__ = ["configure_logging", "request_id_var", "tenant_id_var"]
