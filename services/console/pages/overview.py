"""Overview: what needs attention today: open insights by severity, drafts to review (held
first), sync health per module, and the tenant's units per day over the last 60 days."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.console.charts import Chart, Point, bar_chart, fill_days
from services.console.client import Api
from services.console.views import SignedIn
from services.gateway.api.insights import InsightKind

router = APIRouter()
SEVERITIES = ("critical", "warning", "info")
CHART_DAYS = 60
DRAFTS_SHOWN = 10
STALE_AFTER_DAYS = 2
INSIGHTS_COUNTED = 100
"""The first insights counted by severity, of every kind but ``unmapped_orgs``; more are
counted as "at least"."""
ORGS_COUNTED = 20
"""The first ``unmapped_orgs`` insights counted: one per org waiting for a mapping, each
ranked against every company (a millisecond each at 10,000 companies), and the Unmapped
queue shows them all; more are counted as "at least"."""
ORG_KIND = InsightKind.UNMAPPED_ORGS
OTHER_KINDS = [k.value for k in InsightKind if k != ORG_KIND]


@dataclass(frozen=True)
class SyncHealth:
    module: str
    name: str
    state: str  # ok, failed, stale, no data
    last_usage_date: str | None
    last_sync: str


def is_held(invoice: dict[str, Any]) -> bool:
    hold = invoice.get("hold")
    return isinstance(hold, dict) and not hold.get("released_at")


def severity_counts(
    insights: list[dict[str, Any]], more: bool
) -> tuple[Counter[str], frozenset[str]]:
    """The insights of each severity, and the severities that may have more than counted:
    the list is sorted by severity, so if it goes on, only the last severity counted and
    those after it can."""
    counts = Counter(i.get("severity", "info") for i in insights)
    if not more:
        return counts, frozenset()
    last = max((SEVERITIES.index(s) for s in counts), default=0)
    return counts, frozenset(SEVERITIES[last:])


def sync_health(module: dict[str, Any], today: dt.date) -> SyncHealth:
    sync = module.get("last_sync") or {}
    last = module.get("last_usage_date")
    if sync.get("status") == "failed":
        state = "failed"
    elif last is None:
        state = "no data"
    elif (today - dt.date.fromisoformat(last)).days > STALE_AFTER_DAYS:
        state = "stale"
    else:
        state = "ok"
    described = f"{sync['date']} {sync['status']}" if sync else "none (usage is pushed)"
    return SyncHealth(module["module"], module["name"], state, last, described)


async def usage_chart(api: Api, today: dt.date) -> Chart:
    """The tenant's units per day, summed by the unit table in one request."""
    first = today - dt.timedelta(days=CHART_DAYS)
    last = today - dt.timedelta(days=1)
    totals = await api.get(
        "/v1/usage/daily-totals", **{"from": first.isoformat(), "to": last.isoformat()}
    )
    points = [
        Point(dt.date.fromisoformat(t["date"]), Decimal(t["quantity"]), t["estimated"])
        for t in totals["items"]
    ]
    return bar_chart("Units per day, last 60 days", fill_days(points, first, last))


@router.get("/")
async def overview(page: SignedIn) -> HTMLResponse:
    today = page.today()
    api = page.api
    others_page, orgs_page, drafts_page, modules_page, chart = await asyncio.gather(
        api.get("/v1/insights", kind=OTHER_KINDS, limit=INSIGHTS_COUNTED),
        api.get("/v1/insights", kind=ORG_KIND.value, limit=ORGS_COUNTED),
        api.get("/v1/invoices", status="draft", limit=200),
        api.get("/v1/modules", limit=100),
        usage_chart(api, today),
    )
    counts, open_ended = severity_counts(others_page["items"], bool(others_page.get("next_cursor")))
    orgs = orgs_page["items"]
    counts.update(i.get("severity", "info") for i in orgs)
    if orgs_page.get("next_cursor"):  # one kind: only its own severity goes on
        open_ended |= {i.get("severity", "info") for i in orgs}
    insights = others_page["items"] + orgs
    top = sorted(insights, key=lambda i: SEVERITIES.index(i.get("severity", "info")))[:5]
    drafts = sorted(
        drafts_page["items"], key=lambda i: (not is_held(i), i.get("company_name") or "")
    )
    health = [sync_health(m, today) for m in modules_page["items"]]
    return page.render(
        "overview.html",
        title="Overview",
        current="Overview",
        severities=SEVERITIES,
        counts=counts,
        open_ended=open_ended,
        top_insights=top,
        drafts=drafts[:DRAFTS_SHOWN],
        draft_count=len(drafts),
        more_drafts=bool(drafts_page.get("next_cursor")),
        held_count=sum(1 for d in drafts if is_held(d)),
        health=health,
        health_counts=Counter(h.state for h in health),
        chart=chart,
        stale_after=STALE_AFTER_DAYS,
    )
