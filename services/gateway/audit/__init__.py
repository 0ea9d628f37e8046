"""The audit trail: every write through the gateway by an authenticated key, with its outcome
and what it changed (before and after, as the owning service reported it through
``shared.changes``), and every refused attempt with one of the tenant's keys.

Recorded around the whole app, so that refusals (403, 429, 4xx of a service), failures
(5xx) and the gateway's own endpoints (API keys) are all in it, not just forwarded successes.
"""

from __future__ import annotations

from services.gateway.audit.trail import CALLER_STATE, AuditTrail

__all__ = ["CALLER_STATE", "AuditTrail"]
