"""Reads the chaos tenant and the fault-free reference tenant back and counts where they
differ: the unit table row by row, every invoice to the cent, the posted numbers, the events
that took effect twice, and the dead letters."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.events import DEAD_LETTER, decode, topic_for

UNITS = """
SELECT u.module, u.org_id, u.metric, u.day, u.service_code, u.status, c.external_ref,
       u.quantity, u.version
FROM invoicing.units u LEFT JOIN invoicing.companies c ON c.id = u.company_id
WHERE u.tenant_id = $1
"""
INVOICES = """
SELECT i.id, c.external_ref, i.period, i.currency, i.kind, i.status, i.number, i.subtotal,
       i.tax, i.total, i.balance
FROM invoicing.invoices i LEFT JOIN invoicing.companies c ON c.id = i.company_id
WHERE i.tenant_id = $1
"""
LINES = """
SELECT l.invoice_id, l.service_code, l.quantity, l.unit_price, l.amount, l.period_start
FROM invoicing.invoice_lines l JOIN invoicing.invoices i ON i.id = l.invoice_id
WHERE i.tenant_id = $1 ORDER BY l.invoice_id, l.position
"""

UnitKey = tuple[str, str, str, Any, str]


@dataclass
class Findings:
    units: int = 0
    lost: int = 0
    doubled: int = 0
    invoices: int = 0
    invoice_differences: int = 0
    posted: int = 0
    number_problems: list[str] = field(default_factory=list)
    twice: list[str] = field(default_factory=list)
    """event effects seen twice: one business fact published under two event ids"""
    dead_letters: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (
            self.lost
            or self.doubled
            or self.invoice_differences
            or self.number_problems
            or self.twice
            or self.dead_letters
        )

    def lines(self) -> list[str]:
        return [
            f"units {self.units}, invoices {self.invoices}, posted {self.posted}",
            f"lost {self.lost}, doubled {self.doubled}, "
            f"invoice differences {self.invoice_differences}",
            f"posted numbers: {'; '.join(self.number_problems) or 'each used once, no gap'}",
            f"event effects twice: {len(self.twice)}",
            f"dead letters: {self.dead_letters}",
            *(f"  e.g. {e}" for e in self.examples[:10]),
        ]


async def units_of(conn: asyncpg.Connection, tenant: str) -> dict[UnitKey, tuple[Any, ...]]:
    """The tenant's unit table: (status, company reference, quantity, version) by key."""
    rows = await conn.fetch(UNITS, tenant)
    return {
        (r["module"], r["org_id"], r["metric"], r["day"], r["service_code"]): (
            r["status"],
            r["external_ref"],
            r["quantity"],
            r["version"],
        )
        for r in rows
    }


async def _invoices(conn: asyncpg.Connection, tenant: str) -> dict[tuple[Any, ...], Any]:
    lines: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for r in await conn.fetch(LINES, tenant):
        lines[r["invoice_id"]].append(
            (r["service_code"], r["quantity"], r["unit_price"], r["amount"], r["period_start"])
        )
    return {
        (r["external_ref"], r["period"], r["currency"], r["kind"]): (
            r["status"],
            r["subtotal"],
            r["tax"],
            r["total"],
            r["balance"],
            tuple(lines[r["id"]]),
            r["number"],
        )
        for r in await conn.fetch(INVOICES, tenant)
    }


def compare_units(
    findings: Findings, chaos: dict[UnitKey, tuple[Any, ...]], ref: dict[UnitKey, tuple[Any, ...]]
) -> None:
    """Lost: a reference row missing or different; doubled: a row the reference lacks, or
    one changed more often (a higher version: an effect applied twice)."""
    findings.units = len(chaos)
    for key, want in ref.items():
        got = chaos.get(key)
        if got is None or got[:3] != want[:3]:
            findings.lost += 1
            findings.examples.append(f"unit {key}: {got} instead of {want}")
        elif got[3] > want[3]:
            findings.doubled += 1
            findings.examples.append(f"unit {key}: version {got[3]} instead of {want[3]}")
    for key in chaos.keys() - ref.keys():
        findings.doubled += 1
        findings.examples.append(f"unit {key}: not in the reference")


def compare_invoices(
    findings: Findings, chaos: dict[tuple[Any, ...], Any], ref: dict[tuple[Any, ...], Any]
) -> None:
    """Everything but the number must be equal to the cent; numbers are checked apart (the
    order of posting may differ)."""
    findings.invoices = len(chaos)
    for key in chaos.keys() | ref.keys():
        got, want = chaos.get(key), ref.get(key)
        if got is None or want is None or got[:-1] != want[:-1]:
            findings.invoice_differences += 1
            findings.examples.append(f"invoice {key}: {got} instead of {want}")
    numbers = sorted(v[-1] for v in chaos.values() if v[-1] is not None)
    findings.posted = len(numbers)
    expected = sum(1 for v in ref.values() if v[-1] is not None)
    if numbers != list(range(1, len(numbers) + 1)):
        counts = Counter(numbers)
        twice = sorted(n for n, c in counts.items() if c > 1)
        gaps = sorted(set(range(1, (numbers[-1] if numbers else 0) + 1)) - set(numbers))
        findings.number_problems.append(f"used twice {twice[:10]}, missing {gaps[:10]}")
    if len(numbers) != expected:
        findings.number_problems.append(f"{len(numbers)} posted, the reference {expected}")


async def read_database(findings: Findings, dsn: str, chaos: str, ref: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        compare_units(findings, await units_of(conn, chaos), await units_of(conn, ref))
        compare_invoices(findings, await _invoices(conn, chaos), await _invoices(conn, ref))
    finally:
        await conn.close()


async def _partitions(kafka: str, topic: str) -> list[TopicPartition]:
    """The topic's partitions; none when it does not exist (no dead letter was ever sent)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        return []
    return [TopicPartition(topic, p["partition"]) for p in described["partitions"]]


async def _topic(kafka: str, topic: str) -> list[bytes]:
    """Every message of the topic from the beginning to its current end."""
    tps = await _partitions(kafka, topic)
    if not tps:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        values: list[bytes] = []
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            values.extend(r.value for records in batch.values() for r in records if r.value)
        return values
    finally:
        await consumer.stop()


def _facts(event_type: str, data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What one event says happened, so that two event ids saying it are two effects: a
    record's revision, a posted invoice."""
    if event_type == "usage.recorded":
        keys = ("module", "org_id", "metric", "date", "revision")
        return [tuple(str(r[k]) for k in keys) for r in data["records"]]
    return [(data["invoice"]["id"],)]


async def read_topics(findings: Findings, kafka: str, prefix: str, tenant: str) -> None:
    findings.dead_letters = len(await _topic(kafka, topic_for(prefix, DEAD_LETTER)))
    for event_type in ("usage.recorded", "invoice.posted"):
        ids: dict[tuple[Any, ...], set[str]] = defaultdict(set)
        for value in await _topic(kafka, topic_for(prefix, event_type)):
            envelope, event = decode(value)
            if envelope.tenant_id != tenant:
                continue
            for fact in _facts(event_type, event.model_dump(mode="json")):
                ids[fact].add(str(envelope.id))
        findings.twice.extend(
            f"{event_type} {fact}: {len(seen)} event ids"
            for fact, seen in ids.items()
            if len(seen) > 1
        )


async def compare(dsn: str, kafka: str, prefix: str, chaos: str, ref: str) -> Findings:
    findings = Findings()
    await asyncio.gather(
        read_database(findings, dsn, chaos, ref), read_topics(findings, kafka, prefix, chaos)
    )
    findings.examples.extend(findings.twice[:5])
    return findings
