"""``contract.changed`` on real PostgreSQL and Kafka: invoicing's contract API publishes it in
the transaction of the write, mapping keeps a replica that ``usage_without_contract`` reads;
a redelivered event is one effect and an older state never replaces a newer one."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from services.invoicing.api.contracts import (
    AmendmentIn,
    ContractIn,
    ContractPatch,
    ServiceIn,
    amend_contract,
    create_contract,
    patch_contract,
)
from services.invoicing.app import build_runtime as invoicing_runtime
from services.invoicing.contracts.companies import upsert_company
from services.invoicing.runtime import InvoicingRuntime
from services.invoicing.settings import InvoicingSettings
from services.mapping import models as mapping_models
from services.mapping.app import build_runtime as mapping_runtime
from services.mapping.insights import rules as insights
from services.mapping.insights.contract_cover import contract_covers
from services.mapping.insights.facts import load_facts
from services.mapping.runtime import MappingRuntime
from services.mapping.settings import MappingSettings
from shared.bus.kafka import KafkaBus
from shared.context import CallerContext
from shared.db import create_engine
from shared.events import (
    CompanyData,
    ContractChanged,
    Envelope,
    all_topics,
    topic_for,
)
from shared.migrations import migrate_all

pytestmark = pytest.mark.integration

WAIT = 60.0
TODAY = datetime.now(UTC).date()  # the callers' zone is UTC
RECENT = TODAY - timedelta(days=1)
RMM = "datto_rmm"


@dataclass
class Services:
    invoicing: InvoicingRuntime
    mapping: MappingRuntime
    bus: KafkaBus
    prefix: str


@pytest.fixture(scope="module")
async def services(fresh_database_url: str, kafka_bootstrap: str) -> AsyncIterator[Services]:
    await asyncio.to_thread(migrate_all, fresh_database_url)
    prefix = f"it{uuid.uuid4().hex[:12]}."
    options: dict[str, Any] = {
        "environment": "test",
        "database_url": fresh_database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "topic_prefix": prefix,
        "outbox_poll_seconds": 0.1,
    }
    bus = KafkaBus(kafka_bootstrap, all_topics(prefix), retry_seconds=0.1)
    try:
        await asyncio.wait_for(bus.start(), WAIT)
    except Exception as exc:
        pytest.fail(f"Kafka at {kafka_bootstrap} unreachable: {exc!r}")
    invoicing = invoicing_runtime(
        InvoicingSettings(**options), create_engine(fresh_database_url, "invoicing", 5), bus
    )
    mapping = mapping_runtime(
        MappingSettings(**options), create_engine(fresh_database_url, "mapping", 5), bus
    )
    await invoicing.start()
    await mapping.start()
    try:
        yield Services(invoicing, mapping, bus, prefix)
    finally:
        for runtime in (invoicing, mapping):
            await runtime.stop()
            await runtime.engine.dispose()
        await bus.stop()
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await asyncio.wait_for(admin.start(), WAIT)
        try:
            await asyncio.wait_for(admin.delete_topics(all_topics(prefix)), WAIT)
        finally:
            await admin.close()


async def eventually(what: str, check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {WAIT}s waiting for {what}")
        await asyncio.sleep(0.1)


def caller(tenant_id: str) -> CallerContext:
    return CallerContext(tenant_id=tenant_id, timezone="UTC", role="billing", key_id="it-key")


async def company(s: Services, tenant_id: str, name: str) -> str:
    """A company in mapping and in invoicing's replica of it."""
    company_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with s.mapping.transaction() as session:
        session.add(
            mapping_models.CompanyRow(
                id=company_id,
                tenant_id=tenant_id,
                name=name,
                tax_rate=Decimal("0.19"),
                created_at=now,
                updated_at=now,
            )
        )
    data = CompanyData(id=company_id, name=name, tax_rate=Decimal("0.19"))
    async with s.invoicing.transaction() as session:
        await upsert_company(session, tenant_id, data)
    return company_id


async def billed_usage(s: Services, tenant_id: str, company_id: str) -> None:
    """Yesterday's RMM servers (``SRV``) and desktops (``DESK``) of the company, billed."""
    now = datetime.now(UTC)
    async with s.mapping.transaction() as session:
        session.add(
            mapping_models.ModuleBillingRow(
                tenant_id=tenant_id,
                module=RMM,
                enabled=True,
                effective_from=TODAY - timedelta(days=400),
            )
        )
        session.add(
            mapping_models.OrgMappingRow(
                tenant_id=tenant_id,
                module=RMM,
                org_id="r1",
                company_id=company_id,
                excluded=False,
                updated_at=now,
            )
        )
        for metric, code in (("servers", "SRV"), ("desktops_laptops", "DESK")):
            session.add(
                mapping_models.ServiceMappingRow(
                    tenant_id=tenant_id,
                    module=RMM,
                    metric=metric,
                    company_id=mapping_models.TENANT_WIDE,
                    service_codes=[code],
                    updated_at=now,
                )
            )
            session.add(
                mapping_models.UsageRow(
                    tenant_id=tenant_id,
                    module=RMM,
                    org_id="r1",
                    metric=metric,
                    day=RECENT,
                    quantity=Decimal("3"),
                    revision=1,
                    version=1,
                )
            )


async def uncovered(s: Services, tenant_id: str) -> list[str]:
    """The service codes of the tenant's ``usage_without_contract`` items."""
    kinds = (insights.InsightKind.USAGE_WITHOUT_CONTRACT,)
    async with s.mapping.sessions() as session:
        facts = await load_facts(session, tenant_id, TODAY, kinds)
    return [i["service_code"] for found in insights.build(facts) for i in found.items or ()]


async def covers(s: Services, tenant_id: str) -> list[insights.ContractCover]:
    async with s.mapping.sessions() as session:
        return await contract_covers(session, tenant_id)


def services_in(*codes: str) -> list[ServiceIn]:
    return [ServiceIn(service_code=c, name=c, unit_price=Decimal("5.00")) for c in codes]


async def test_contract_writes_reach_mapping_and_its_insight(services: Services) -> None:
    s, tenant = services, str(uuid.uuid4())
    contoso = await company(s, tenant, "Contoso Ltd")
    await billed_usage(s, tenant, contoso)
    assert await uncovered(s, tenant) == ["DESK", "SRV"]

    body = ContractIn(
        company_id=contoso,
        name="Managed services",
        start_date=TODAY - timedelta(days=90),
        currency="EUR",
        services=services_in("SRV"),
    )
    contract = await create_contract(body, caller(tenant), s.invoicing)
    start = TODAY - timedelta(days=90)
    expected = insights.ContractCover(contoso, start, None, frozenset({"SRV"}))
    await eventually("the created contract", lambda: _equal(covers(s, tenant), [expected]))
    assert await uncovered(s, tenant) == ["DESK"]

    amendment = AmendmentIn(effective_from=start, services=services_in("SRV", "DESK"))
    await amend_contract(contract.id, amendment, caller(tenant), s.invoicing)
    await eventually("the covering contract", lambda: _equal(uncovered(s, tenant), []))

    ended = RECENT - timedelta(days=1)
    await patch_contract(contract.id, ContractPatch(end_date=ended), caller(tenant), s.invoicing)
    await eventually("the ended contract", lambda: _equal(uncovered(s, tenant), ["DESK", "SRV"]))
    assert await covers(s, tenant) == [
        insights.ContractCover(contoso, start, ended, frozenset({"SRV", "DESK"}))
    ]


async def test_redelivered_and_older_states_change_nothing(services: Services) -> None:
    s, tenant = services, str(uuid.uuid4())
    now = datetime.now(UTC)

    def state(contract_id: str, end: date | None, at: datetime) -> bytes:
        event = ContractChanged(
            contract_id=contract_id,
            company_id="c-1",
            start_date=date(2026, 1, 1),
            end_date=end,
            service_codes=("SRV",),
            updated_at=at,
        )
        return Envelope.wrap(tenant, event).model_dump_json().encode()

    newer = state("k-1", date(2026, 6, 30), now)
    older = state("k-1", None, now - timedelta(minutes=5))
    last = state("k-2", None, now)  # same tenant, same partition: processed after the others
    topic = topic_for(s.prefix, ContractChanged.TYPE)
    await s.bus.publish(topic, [(tenant.encode(), v) for v in (newer, newer, older, last)])
    await eventually("the last state", lambda: _count(covers(s, tenant), 2))

    assert sorted(await covers(s, tenant), key=lambda c: c.end_date is None) == [
        insights.ContractCover("c-1", date(2026, 1, 1), date(2026, 6, 30), frozenset({"SRV"})),
        insights.ContractCover("c-1", date(2026, 1, 1), None, frozenset({"SRV"})),
    ]
    ids = [str(Envelope.model_validate_json(v).id) for v in (newer, older, last)]
    async with s.mapping.sessions() as session:
        inbox = mapping_models.inbox
        seen = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id.in_(ids))
        )
    assert seen == 3


async def _equal(found: Awaitable[object], expected: object) -> bool:
    return await found == expected


async def _count(found: Awaitable[list[insights.ContractCover]], n: int) -> bool:
    return len(await found) == n
