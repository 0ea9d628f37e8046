"""Anomaly holds (PRODUCT.md section 11) through the API: a draft whose quantity jumps from
its baseline is held, posting it answers 409 until it is released with a note, a release
lasts while the anomalous quantities do, and the tenant settings move the thresholds.

Usage is one org of 20 servers a day for three months, then the month under test."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from services.invoicing.assurance.holds import refresh_holds
from tests.api.test_invoicing_support import (
    TODAY,
    InvoicingApi,
    days_of,
    ok,
    service,
    steps,
)

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

MODULE, METRIC = "datto_rmm", "servers"


def months_back(count: int) -> list[str]:
    """The ``count`` calendar months before the current one, oldest first."""
    year, month = TODAY.year, TODAY.month
    out = []
    for _ in range(count):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        out.append(f"{year:04d}-{month:02d}")
    return out[::-1]


PERIODS = months_back(4)
HISTORY, CURRENT = PERIODS[:3], PERIODS[3]


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


def _start(period: str) -> date:
    return days_of(period)[0]


async def _billed_history(
    billing: InvoicingApi, now: int | str, history: tuple[int, int, int] = (20, 20, 20)
) -> str:
    """A company billed for three months at ``history`` servers a day, with ``now`` a day in
    the current month; the current month's draft is computed."""
    company = await billing.company("Contoso Ltd")
    await billing.feed(MODULE, METRIC, "SRV")
    parts = [(len(days_of(p)), q) for p, q in zip(PERIODS, (*history, now), strict=True)]
    await billing.usage(company, MODULE, METRIC, _start(PERIODS[0]), steps(*parts))
    await billing.contract(company, [service("SRV", "1.00")], start=_start(PERIODS[0]))
    for period in PERIODS:
        await billing.run(period)
    return company


async def test_a_spike_holds_the_draft_until_it_is_released(billing: InvoicingApi) -> None:
    company = await _billed_history(billing, now=200)
    draft = await billing.invoice_of(company, CURRENT)

    assert draft["hold"] == {
        "reasons": [
            {
                "line_id": draft["lines"][0]["id"],
                "service_code": "SRV",
                "quantity": "200.0000",
                "baseline": "20.0000",
            }
        ],
        "released_by": None,
        "released_at": None,
        "note": None,
    }
    refused = ok(await billing.client.post(f"/v1/invoices/{draft['id']}/post"), 409)
    assert refused["type"].endswith("/invoice-held")
    assert (await billing.invoice(draft["id"]))["status"] == "draft"
    [listed] = await billing.documents(CURRENT)
    assert listed["hold"] == draft["hold"]  # what `icb invoices post` reads

    released = ok(
        await billing.client.post(
            f"/v1/invoices/{draft['id']}/release", json={"note": "200 servers migrated"}
        )
    )
    assert released["hold"]["note"] == "200 servers migrated"
    assert released["hold"]["released_by"] and released["hold"]["released_at"]
    assert released["hold"]["reasons"] == draft["hold"]["reasons"]
    posted = await billing.post(draft["id"])
    assert (posted["status"], posted["hold"]) == ("posted", None)  # holds are for drafts


async def test_earlier_periods_are_not_held_and_steady_usage_is_not(
    billing: InvoicingApi,
) -> None:
    company = await _billed_history(billing, now=24)
    for period in PERIODS:
        assert (await billing.invoice_of(company, period))["hold"] is None


async def test_a_service_that_stops_holds_the_draft(billing: InvoicingApi) -> None:
    company = await _billed_history(billing, now=0)
    draft = await billing.invoice_of(company, CURRENT)

    assert draft["lines"] == []
    assert draft["hold"]["reasons"] == [
        {"line_id": None, "service_code": "SRV", "quantity": "0.0000", "baseline": "20.0000"}
    ]


async def test_the_baseline_is_the_median_of_the_last_three_periods(
    billing: InvoicingApi,
) -> None:
    company = await _billed_history(billing, now=40, history=(10, 60, 40))
    assert (await billing.invoice_of(company, CURRENT))["hold"] is None  # median 40

    ok(await billing.client.patch("/v1/settings", json={"anomaly_min_units": "100"}))
    await billing.usage(company, MODULE, METRIC, _start(CURRENT), [0] * 10)
    await billing.run(CURRENT)
    assert (await billing.invoice_of(company, CURRENT))["hold"] is None  # 26.67: gap < 100


async def test_a_release_lasts_while_the_quantities_do(billing: InvoicingApi) -> None:
    company = await _billed_history(billing, now=200)
    draft = await billing.invoice_of(company, CURRENT)
    ok(await billing.client.post(f"/v1/invoices/{draft['id']}/release", json={"note": "ok"}))

    again = await billing.run(CURRENT)
    assert again["updated"] == 0
    assert (await billing.invoice_of(company, CURRENT))["hold"]["note"] == "ok"

    await billing.usage(company, MODULE, METRIC, _start(CURRENT), [300] * 5)
    await billing.run(CURRENT)
    held = await billing.invoice_of(company, CURRENT)
    assert held["hold"]["released_at"] is None
    assert held["hold"]["note"] is None
    assert held["hold"]["reasons"][0]["quantity"] == held["lines"][0]["quantity"]
    ok(await billing.client.post(f"/v1/invoices/{draft['id']}/post"), 409)


async def test_release_needs_a_held_draft_and_a_note(billing: InvoicingApi) -> None:
    company = await _billed_history(billing, now=21)
    steady = await billing.invoice_of(company, CURRENT)

    refused = ok(
        await billing.client.post(f"/v1/invoices/{steady['id']}/release", json={"note": "x"}),
        409,
    )
    assert refused["type"].endswith("/conflict")
    invalid = ok(await billing.client.post(f"/v1/invoices/{steady['id']}/release", json={}), 422)
    assert invalid["errors"][0]["loc"] == ["body", "note"]
    ok(await billing.client.post("/v1/invoices/nope/release", json={"note": "x"}), 404)


async def test_settings_have_defaults_and_change_the_thresholds(billing: InvoicingApi) -> None:
    assert ok(await billing.client.get("/v1/settings")) == {
        "anomaly_threshold": "0.5",
        "anomaly_min_units": "5.0000",
        "auto_apply_credit_notes": True,
        "invoice_number_format": "INV-{year}-{number:05}",
    }
    company = await _billed_history(billing, now=28)  # +40 %: under the default threshold
    assert (await billing.invoice_of(company, CURRENT))["hold"] is None

    changed = ok(
        await billing.client.patch(
            "/v1/settings", json={"anomaly_threshold": "0.25", "auto_apply_credit_notes": False}
        )
    )
    assert changed == {
        "anomaly_threshold": "0.25",
        "anomaly_min_units": "5.0000",
        "auto_apply_credit_notes": False,
        "invoice_number_format": "INV-{year}-{number:05}",
    }
    await billing.run(CURRENT)
    held = await billing.invoice_of(company, CURRENT)
    assert held["hold"]["reasons"][0]["baseline"] == "20.0000"


@pytest.mark.parametrize(
    "body",
    [{"anomaly_threshold": "-1"}, {"anomaly_min_units": "abc"}, {"unknown": 1}],
)
async def test_bad_settings_are_refused_and_change_nothing(
    billing: InvoicingApi, body: dict[str, Any]
) -> None:
    ok(await billing.client.patch("/v1/settings", json=body), 422)
    assert ok(await billing.client.get("/v1/settings"))["anomaly_threshold"] == "0.5"


async def test_settings_are_for_admins(billing: InvoicingApi) -> None:
    created = ok(
        await billing.client.post("/v1/api-keys", json={"name": "b", "role": "billing"}), 201
    )
    headers = {"Authorization": f"Bearer {created['key']}"}
    ok(await billing.client.get("/v1/settings", headers=headers), 403)
    ok(await billing.client.patch("/v1/settings", json={}, headers=headers), 403)


async def test_a_held_draft_is_a_usage_anomaly_insight_until_released(
    billing: InvoicingApi,
) -> None:
    company = await _billed_history(billing, now=200)
    draft = await billing.invoice_of(company, CURRENT)

    page = ok(await billing.client.get("/v1/insights", params={"kind": "usage_anomaly"}))
    [insight] = page["items"]
    assert (insight["kind"], insight["severity"], insight["invoice_id"]) == (
        "usage_anomaly",
        "warning",
        draft["id"],
    )
    assert (insight["company_id"], insight["period"], insight["count"]) == (company, CURRENT, 1)
    assert insight["items"][0]["baseline"] == "20.0000"

    ok(await billing.client.post(f"/v1/invoices/{draft['id']}/release", json={"note": "ok"}))
    page = ok(await billing.client.get("/v1/insights", params={"kind": "usage_anomaly"}))
    assert page["items"] == []


async def test_holds_read_the_lines_of_drafts_they_are_not_given(billing: InvoicingApi) -> None:
    """A billing run hands its holds the lines it computed; without them the drafts' lines
    are read, and judge the same."""
    company = await _billed_history(billing, now=200)
    held = (await billing.invoice_of(company, CURRENT))["hold"]
    assert held["reasons"]
    async with billing.api.system.invoicing.sessions() as session, session.begin():
        await refresh_holds(session, billing.api.tenant_id, CURRENT)
    assert (await billing.invoice_of(company, CURRENT))["hold"] == held
