"""Ingest's HTTP API: pushed usage, the module catalog and billing, connections and syncs."""

from __future__ import annotations

from services.ingest.api import connections, insights, modules, usage

routers = [usage.router, modules.router, connections.router, insights.router]
