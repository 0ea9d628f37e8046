"""The walking skeleton end to end: usage in, invoices out, on the real stack (four service
processes, Kafka, PostgreSQL) and in the embedded mode, with redelivery and crashes."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.support import scenario as sc
from tests.support.kafka import redeliver_first, wait_consumed
from tests.support.polling import Pending, wait_for
from tests.support.scenario import Built, build_scenario, comparable, ok, tally
from tests.support.stack import Stack, Tenant, Unit

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

pytestmark = pytest.mark.e2e

CENT = Decimal("0.01")
QUANTUM = Decimal("0.0001")


# -- the expected invoices, by hand (PRODUCT.md section 4) ---------------------------------


def _daily_quantities(company: str, code: str) -> list[Decimal]:
    """q_d: the company's quantities of every (module, metric) mapped to ``code``."""
    q = [Decimal(0)] * sc.DAYS
    for org in sc.ORGS:
        if org.company != company:
            continue
        for metric, values in org.counts.items():
            codes = sc.OVERRIDES.get(
                (company, org.module, metric), sc.SERVICE_MAPPINGS.get((org.module, metric), ())
            )
            if code in codes:
                q = [a + b for a, b in zip(q, values, strict=True)]
    return q


def expected_invoices() -> dict[str, dict[str, Any]]:
    """Per company name: subtotal, tax, total and {service_code: (quantity, amount)}."""
    days = Decimal(sc.DAYS)
    rates = {c.name: Decimal(c.tax_rate) for c in sc.COMPANIES}
    out: dict[str, dict[str, Any]] = {}
    for contract in sc.CONTRACTS:
        lines: dict[str, tuple[str, str]] = {}
        subtotal = Decimal(0)
        for s in contract.services:
            q = [
                max(x, Decimal(s.minimum_units))
                for x in _daily_quantities(contract.company, s.code)
            ]
            price = Decimal(s.unit_price)
            if s.counting_basis == "daily":
                amount = (sum(x * price for x in q) / days).quantize(CENT, ROUND_HALF_UP)
                quantity = (sum(q) / days).quantize(QUANTUM, ROUND_HALF_UP)
            else:  # monthly_peak, active all month: |A| / D = 1
                amount = (max(q) * price).quantize(CENT, ROUND_HALF_UP)
                quantity = max(q).quantize(QUANTUM)
            lines[s.code] = (str(quantity), str(amount))
            subtotal += amount
        tax = (subtotal * rates[contract.company]).quantize(CENT, ROUND_HALF_UP)
        out[contract.company] = {
            "currency": contract.currency,
            "subtotal": str(subtotal),
            "tax": str(tax),
            "total": str(subtotal + tax),
            "lines": lines,
        }
    return out


# -- the scenario on the real stack, once for (a) and (b) ----------------------------------


@pytest.fixture(scope="module")
async def real_scenario(stack: Stack) -> Built:
    tenant = stack.admin
    assert tenant is not None

    async def replicas_ready() -> bool:
        rows = await stack.fetch(
            "SELECT count(*) AS n FROM invoicing.module_billing"
            " WHERE tenant_id = $1 AND enabled AND effective_from = $2",
            tenant.id,
            date.fromisoformat(sc.BILLING_FROM),
        )
        return rows[0]["n"] == len(sc.MODULES)

    async with stack.client(tenant.key) as api:
        return await build_scenario(api, replicas_ready)


async def test_invoices_equal_the_hand_computed_totals(real_scenario: Built) -> None:
    assert real_scenario.run["period"] == sc.PERIOD
    assert real_scenario.run["invoices"] == len(sc.CONTRACTS)
    expected = expected_invoices()
    names = {cid: name for name, cid in real_scenario.company_ids.items()}
    got = {
        names[inv["company_id"]]: {
            "currency": inv["currency"],
            "subtotal": inv["subtotal"],
            "tax": inv["tax"],
            "total": inv["total"],
            "lines": {
                line["service_code"]: (line["quantity"], line["amount"]) for line in inv["lines"]
            },
        }
        for inv in real_scenario.invoices
    }
    assert got == expected
    for inv in real_scenario.invoices:
        assert (inv["kind"], inv["status"], inv["number"]) == ("invoice", "draft", None)
        assert inv["balance"] == inv["total"]


async def test_embedded_mode_gives_identical_invoices(
    real_scenario: Built, embedded_api: EmbeddedApi
) -> None:
    """The same scenario on SQLite and the in-process bus (tests/conftest.py)."""
    built = await build_scenario(embedded_api.client, embedded_api.system.idle)
    assert built.run["invoices"] == len(sc.CONTRACTS)
    assert comparable(built) == comparable(real_scenario)


# -- redelivery and repeated requests ------------------------------------------------------


def _records(n: int, org: str, quantity: int, start: date) -> list[dict[str, Any]]:
    return [
        {
            "module": "datto_rmm",
            "org_id": org,
            "org_name": f"Org {org}",
            "metric": "servers",
            "date": (start + timedelta(days=i)).isoformat(),
            "quantity": quantity + i,
        }
        for i in range(n)
    ]


async def _settled(stack: Stack, api: httpx.AsyncClient, tenant: Tenant, tag: str) -> list[Unit]:
    """Posts a sentinel record and waits for it in the unit table: everything the tenant
    sent before it went through too (one partition per tenant). Answers the other rows."""
    sentinel = _records(1, f"sentinel-{tag}", 1, date.today() - timedelta(days=1))
    ok(await api.post("/v1/usage", json={"records": sentinel}))

    async def arrived() -> list[Unit] | None:
        units = await stack.units(tenant.id)
        if any(u.org_id == f"sentinel-{tag}" for u in units):
            return [u for u in units if not u.org_id.startswith("sentinel-")]
        return None

    return await wait_for(arrived, 60, f"sentinel {tag} in the unit table")


async def test_redelivered_event_and_repeated_post_change_nothing(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    records = _records(30, "dup-org", 10, date.today() - timedelta(days=40))
    async with stack.client(tenant.key) as api:
        first = ok(await api.post("/v1/usage", json={"records": records}))
        assert tally(first) == (30, 0, 0, 0)
        # A correction after the first event: a redelivered first event must not undo it.
        corrected = [{**records[0], "quantity": 99}]
        assert tally(ok(await api.post("/v1/usage", json={"records": corrected}))) == (0, 0, 1, 0)
        before = await _settled(stack, api, tenant, "a")
        assert len(before) == 30
        assert [u.quantity for u in before] == [
            Decimal(99),
            *(Decimal(10 + i) for i in range(1, 30)),
        ]
        ingest_before = await stack.fetch(
            "SELECT * FROM ingest.usage_records WHERE tenant_id = $1 ORDER BY day", tenant.id
        )

        for event_type, group in (
            ("usage.recorded", "mapping.usage"),
            ("usage.resolved", "invoicing.usage"),
        ):
            partition, offset = await redeliver_first(stack, tenant.id, event_type)
            await wait_consumed(
                stack, group, f"{stack.topic_prefix}{event_type}", partition, offset
            )
        assert await _settled(stack, api, tenant, "b") == before

        again = ok(await api.post("/v1/usage", json={"records": [*corrected, *records[1:]]}))
        assert tally(again) == (0, 30, 0, 0)
        assert await _settled(stack, api, tenant, "c") == before
        ingest_after = await stack.fetch(
            "SELECT * FROM ingest.usage_records WHERE tenant_id = $1 AND org_id = 'dup-org'"
            " ORDER BY day",
            tenant.id,
        )
        unchanged = [dict(r) for r in ingest_before if r["org_id"] == "dup-org"]
        assert [dict(r) for r in ingest_after] == unchanged


# -- crashes -------------------------------------------------------------------------------

BATCHES, BATCH_SIZE, ORGS_PER_BATCH = 40, 500, 20


def _crash_batches() -> list[list[dict[str, Any]]]:
    start = date.today() - timedelta(days=60)
    days = BATCH_SIZE // ORGS_PER_BATCH
    return [
        [
            {
                "module": "datto_rmm",
                "org_id": f"o{b:02d}-{j // days:02d}",
                "org_name": f"Org {b}/{j // days}",
                "metric": "servers",
                "date": (start + timedelta(days=j % days)).isoformat(),
                "quantity": 1 + (b * BATCH_SIZE + j) % 97,
            }
            for j in range(BATCH_SIZE)
        ]
        for b in range(BATCHES)
    ]


async def _post_all(
    api: httpx.AsyncClient, batches: list[list[dict[str, Any]]], done: list[int]
) -> None:
    for batch in batches:
        answer = ok(await api.post("/v1/usage", json={"records": batch}))
        assert tally(answer) == (len(batch), 0, 0, 0), answer
        done.append(len(batch))


@pytest.mark.parametrize("victim", ["mapping", "invoicing"])
async def test_kill_9_loses_and_duplicates_nothing(stack: Stack, victim: str) -> None:
    tenant = await stack.new_tenant()
    batches = _crash_batches()
    expected = {(r["org_id"], r["date"]): Decimal(r["quantity"]) for b in batches for r in b}
    assert len(expected) == BATCHES * BATCH_SIZE
    done: list[int] = []
    async with stack.client(tenant.key) as api:
        poster = asyncio.create_task(_post_all(api, batches, done))
        try:
            await wait_for(lambda: _true(len(done) >= 5), 60, "5 batches accepted")
            await wait_for(lambda: stack.unit_count(tenant.id), 60, "the first units")
            await stack.kill(victim)
            await wait_for(
                lambda: _true(len(done) >= 10 or poster.done()),
                60,
                "more batches accepted while the victim is down",
            )
            await stack.start(victim)
            await poster
        finally:
            poster.cancel()
            if not stack.running(victim):
                await stack.start(victim)

    async def all_units() -> list[Unit] | Pending:
        units = await stack.units(tenant.id)
        return units if len(units) >= len(expected) else Pending(f"{len(units)} units")

    units = await wait_for(all_units, 180, f"{len(expected)} units", interval=1)
    assert sum(done) == len(expected)
    got = {(u.org_id, u.day.isoformat()): u.quantity for u in units}
    assert len(units) == len(got) == len(expected)
    assert sum(got.values()) == sum(expected.values())
    assert got == expected
    assert {(u.status, u.service_code, u.version) for u in units} == {("unmapped", "", 1)}


async def _true(value: bool) -> bool:
    return value
