"""Trying a module connection before it is saved: its credential names against the catalog,
then one cheap request through the module's connector.

A wrong token would otherwise be accepted silently and fail only at the first sync, a day
later; refusing it while the tenant is still looking at it names the cause and the place.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.ingest.sync.connectors import ConnectorError, Failure, Pull
from services.ingest.sync.runner import Syncer
from shared.catalog import CATALOG
from shared.problems import ValidationFailed

CHECK_TIMEOUT_SECONDS = 10.0
"""A person waits for the check: never longer than this, nor than a sync would."""

_LEADS = {
    Failure.CREDENTIALS_REFUSED: "{name}'s API at {url} refused the credentials",
    Failure.UNREACHABLE: "{name}'s API at {url} cannot be reached",
    Failure.UNEXPECTED_ANSWER: "{url} did not answer as {name}'s usage API",
}
_FIELDS = {
    Failure.CREDENTIALS_REFUSED: "credentials",
    Failure.UNREACHABLE: "base_url",
    Failure.UNEXPECTED_ANSWER: "base_url",
}


class ConnectionRefused(ValidationFailed):
    """The module's API did not accept the connection; nothing was stored. ``reason`` says
    where to look: the credentials, the URL's reachability, or what answers there."""

    slug, title = "connection-refused", "The module refused the connection"

    def __init__(self, module: str, base_url: str, error: ConnectorError) -> None:
        catalogued = CATALOG.module(module)
        name = catalogued.name if catalogued else module
        lead = _LEADS[error.failure].format(name=name, url=base_url)
        field = _FIELDS[error.failure]
        super().__init__(
            f"{lead}: {error}. Nothing was saved.",
            errors=[{"loc": ["body", field], "msg": f"{lead}."}],
        )
        self.module = module
        self.base_url = base_url
        self.reason = error.failure

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return {
            **super().body(instance),
            "module": self.module,
            "base_url": self.base_url,
            "reason": self.reason.value,
        }


def credential_problem(module: str, credentials: Mapping[str, str]) -> ValidationFailed | None:
    """Which credential names the module's API needs and lacks, or does not know; None when
    they are exactly the catalog's."""
    kind = CATALOG.connector(module)
    if kind is None:
        return None
    expected = kind.credential_names
    missing = [name for name in expected if name not in credentials]
    unknown = sorted(name for name in credentials if name not in expected)
    if not missing and not unknown:
        return None
    takes = ", ".join(map(repr, expected))
    errors = [
        {"loc": ["body", "credentials", name], "msg": f"missing: {module} needs {name!r}"}
        for name in missing
    ] + [
        {"loc": ["body", "credentials", name], "msg": f"unknown: {module} takes only {takes}"}
        for name in unknown
    ]
    found = [
        f"{label} {', '.join(map(repr, names))}"
        for label, names in (("missing", missing), ("unknown", unknown))
        if names
    ]
    detail = f"The credentials of {module} are {takes}: {'; '.join(found)}."
    return ValidationFailed(detail, errors=errors)


async def try_connection(
    syncer: Syncer, module: str, base_url: str, credentials: Mapping[str, str], day: date
) -> None:
    """Asks the module's API for the first usage page of ``day``; raises ``ConnectionRefused``
    when it does not answer with one."""
    pull = Pull(module, day, base_url, credentials, max_pages=1)
    timeout = min(CHECK_TIMEOUT_SECONDS, syncer.settings.sync_timeout_seconds)
    try:
        async with syncer.client(timeout) as client:
            await syncer.connectors.for_module(module).check(client, pull)
    except ConnectorError as exc:
        raise ConnectionRefused(module, base_url, exc) from exc
