"""The groups of the public API document: one tag per resource, given by path.

The gateway tags every operation it merges from this table, so a new endpoint under a known
resource (``/v1/contracts/{id}/amendments``) is grouped without anything more; a new resource
needs a row here, and the document check (:mod:`services.gateway.openapi_check`) fails until
it has one. The longest matching prefix wins; ``{}`` stands for any path parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Tag:
    name: str
    description: str
    prefixes: tuple[str, ...]


# In the order the viewers show them: the month's work from usage to payment, then the
# tenant's administration.
TAGS: tuple[Tag, ...] = (
    Tag(
        "Usage",
        "Daily billable units: pushed by modules (`POST /v1/usage`) or pulled by the daily "
        "sync, and the unit table they become once mapped (`GET /v1/usage`).",
        ("/v1/usage",),
    ),
    Tag(
        "Modules",
        "The module catalog (RMM, backup, EDR...) with each module's metrics, its billing "
        "state and activity. Usage of a module is billed only from its `effective_from` day.",
        ("/v1/modules",),
    ),
    Tag(
        "Module connections",
        "Per module, the connection to its usage API for the daily pull after midnight in "
        "the tenant's time zone: credentials (named per module in the catalog, encrypted, "
        "never shown again), a test before saving, sync now, and the sync history.",
        ("/v1/modules/{}/connection", "/v1/modules/{}/sync", "/v1/modules/{}/syncs"),
    ),
    Tag(
        "Module orgs",
        "The organisations each module reports usage for, with company suggestions; mapping "
        "an org to a company (or excluding it) re-resolves all of its usage.",
        ("/v1/module-orgs", "/v1/companies/{}/module-orgs"),
    ),
    Tag(
        "Service mappings",
        "Which contract services a module's metric feeds: tenant-wide, or overridden for one "
        "company.",
        ("/v1/service-mappings", "/v1/companies/{}/service-mappings"),
    ),
    Tag(
        "Companies",
        "The MSP's customers, who receive the invoices: created one by one or imported from CSV.",
        ("/v1/companies",),
    ),
    Tag(
        "Mapping audit",
        "Who changed which org or service mapping, when, from what to what.",
        ("/v1/mapping-audit",),
    ),
    Tag(
        "Insights",
        "What needs the MSP's attention now (unmapped orgs and metrics, usage no contract "
        "bills, modules gone silent, failed syncs, held drafts), computed from the current "
        "state.",
        ("/v1/insights",),
    ),
    Tag(
        "Contracts",
        "Per company, the priced services its usage is billed against: unit prices, "
        "counting basis, tiers and minimum units; amendments change service terms from a "
        "date on.",
        ("/v1/contracts",),
    ),
    Tag(
        "Billing runs",
        "A period billed as a durable job: drafts created or refreshed per company, and a "
        "correction for every posted invoice whose period now computes differently.",
        ("/v1/billing-runs",),
    ),
    Tag(
        "Invoices",
        "Invoices, adjustments and credit notes: list, read as JSON, CSV or PDF, explain a "
        "line day by day, release a draft held for anomalous usage, post (numbered from a "
        "gapless sequence), void, and export a period's posted documents.",
        ("/v1/invoices", "/v1/invoice-exports"),
    ),
    Tag(
        "Payments",
        "Money received against posted invoices and adjustments, and its reversals; credit "
        "notes applied to invoices or refunded. An invoice is `paid` once its balance is 0.",
        (
            "/v1/invoices/{}/payments",
            "/v1/invoices/{}/applications",
            "/v1/invoices/{}/refunds",
        ),
    ),
    Tag(
        "Receivables",
        "What customers owe: open balances by age.",
        ("/v1/receivables",),
    ),
    Tag(
        "Revenue assurance",
        "Vendor bills, their reconciliation against billed usage, and margins.",
        ("/v1/vendor-bills", "/v1/reconciliation", "/v1/reports"),
    ),
    Tag(
        "Accounting",
        "Posted documents for accounting systems: webhooks, export files and account codes.",
        ("/v1/webhooks", "/v1/exports", "/v1/accounting"),
    ),
    Tag(
        "Seller profile",
        "What the tenant's invoices print as the seller, and its payment terms.",
        ("/v1/seller-profile",),
    ),
    Tag(
        "Settings",
        "The tenant's settings: anomaly hold thresholds and automatic credit-note application.",
        ("/v1/settings",),
    ),
    Tag(
        "API keys",
        "The tenant's API keys and their roles: `admin` (everything), `billing` (mappings, "
        "contracts, invoices, reads), `ingest` (usage writes), `viewer` (reads). A key's "
        "secret is shown once, when it is created.",
        ("/v1/api-keys",),
    ),
    Tag(
        "Audit",
        "Every write through the API by the tenant's keys, with its outcome.",
        ("/v1/audit",),
    ),
    Tag(
        "Health",
        "Liveness and readiness, without a key.",
        ("/healthz", "/readyz"),
    ),
)

_PARAM = re.compile(r"\{[^/{}]*\}")


def _segments(path: str) -> list[str]:
    return _PARAM.sub("{}", path).strip("/").split("/")


_PREFIXES = sorted(
    ((_segments(prefix), tag) for tag in TAGS for prefix in tag.prefixes),
    key=lambda entry: -len(entry[0]),
)


def tag_of(template: str) -> Tag | None:
    """The tag of an OpenAPI path template, e.g. ``/v1/invoices/{invoice_id}/payments``."""
    segments = _segments(template)
    for prefix, tag in _PREFIXES:
        if segments[: len(prefix)] == prefix:
            return tag
    return None


def display_key(template: str) -> tuple[int, bool, str]:
    """Where a path goes in the document: by its tag's place, its resource's own paths
    first (``/v1/module-orgs`` before ``/v1/companies/{id}/module-orgs``), then by path."""
    tag = tag_of(template)
    if tag is None:
        return (len(TAGS), False, template)
    own = _segments(template)[: len(_segments(tag.prefixes[0]))] == _segments(tag.prefixes[0])
    return (TAGS.index(tag), not own, template)
