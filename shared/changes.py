"""What a write changed, reported by the service that changed it, for the gateway's audit.

A use case or router calls :func:`changed` with the resource's state before and after; the
service's answer carries the changes in the ``X-ICB-Changes`` header (base64url JSON), and
the gateway's audit takes them off the answer and records them with the write's key, path
and outcome. So one trail, filterable by key, resource and time, holds every write with what
it changed, while each service keeps its own tables. Secrets are redacted before they leave
the service.
"""

from __future__ import annotations

import base64
import contextlib
import contextvars
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from pydantic_core import to_jsonable_python

H_CHANGES = "x-icb-changes"
REDACTED = "[redacted]"
MAX_HEADER_BYTES = 48 * 1024
"""Above this the states are left out (``truncated``): an answer's headers must stay small."""
# Field names whose values are secrets: API keys, module credentials, webhook secrets.
_SECRET = re.compile(r"secret|password|token|credential|api_key|^key$|signing", re.IGNORECASE)


@dataclass(frozen=True)
class Change:
    resource: str
    resource_id: str | None
    action: str
    before: Any
    after: Any


_collected: contextvars.ContextVar[list[Change] | None] = contextvars.ContextVar(
    "changes", default=None
)


def redact(value: Any) -> Any:
    """``value`` as JSON with every secret-named field's value replaced."""
    if isinstance(value, dict):
        return {k: REDACTED if _SECRET.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def changed(resource: str, resource_id: str | None, action: str, before: Any, after: Any) -> None:
    """Reports a change of ``resource`` (its collection in the API, e.g. ``contracts``) for
    the audit; None for a state that did not exist. Outside a request it does nothing."""
    collected = _collected.get()
    if collected is None:
        return
    collected.append(
        Change(
            resource,
            resource_id,
            action,
            redact(to_jsonable_python(before)),
            redact(to_jsonable_python(after)),
        )
    )


@contextlib.contextmanager
def collecting() -> Iterator[list[Change]]:
    """The changes reported while the block runs (a request, in the service's middleware)."""
    collected: list[Change] = []
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def encode(changes: list[Change]) -> str:
    """The header's value, never much above ``MAX_HEADER_BYTES``: too large, the states are
    left out; still too large (an auto-map of thousands of orgs), one item per resource and
    action says how many changed."""
    items: list[dict[str, Any]] = [asdict(c) for c in changes]
    text = json.dumps(items, separators=(",", ":"))
    if len(text) > MAX_HEADER_BYTES:
        items = [{**i, "before": None, "after": None, "truncated": True} for i in items]
        text = json.dumps(items, separators=(",", ":"))
    if len(text) > MAX_HEADER_BYTES:
        counts = Counter((c.resource, c.action) for c in changes)
        items = [
            {"resource": r, "resource_id": None, "action": a, "before": None, "after": None}
            | {"truncated": True, "count": n}
            for (r, a), n in counts.items()
        ]
        text = json.dumps(items, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii")


def decode(header: str) -> list[Change]:
    """The changes of a header; a malformed one is none (the audit still has the write)."""
    try:
        items = json.loads(base64.urlsafe_b64decode(header.encode("ascii")))
        return [
            Change(
                str(i["resource"])[:64],
                None if i.get("resource_id") is None else str(i["resource_id"])[:200],
                str(i["action"])[:64],
                redact(i.get("before")),
                redact(i.get("after")),
            )
            for i in items
        ]
    except (ValueError, TypeError, KeyError):
        return []
