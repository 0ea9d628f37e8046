"""Horizontal scale: usage events are keyed by (tenant, module, org_id), folded into
buckets, so a large tenant spreads over partitions while each key keeps its order."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.events import (
    USAGE_KEY_BUCKETS,
    ModuleSynced,
    UsageRecord,
    UsageRecorded,
    usage_bucket,
    usage_chunks,
)

TENANT = "t-1"


def record(module: str, org_id: str, day: int = 1) -> UsageRecord:
    return UsageRecord(
        module=module,
        org_id=org_id,
        org_name=org_id,
        metric="servers",
        date=date(2026, 3, day),
        quantity=Decimal(1),
        revision=1,
    )


orgs = st.lists(
    st.tuples(st.sampled_from(["datto_rmm", "ninjaone", "acronis"]), st.text(min_size=1)),
    max_size=200,
)


@given(orgs, st.integers(min_value=1, max_value=50))
def test_chunks_hold_every_record_once_each_within_one_key(
    keys: list[tuple[str, str]], size: int
) -> None:
    records = [record(m, o) for m, o in keys]
    chunks = list(usage_chunks(records, size))
    assert sorted(map(id, (r for c in chunks for r in c))) == sorted(map(id, records))
    for chunk in chunks:
        assert 1 <= len(chunk) <= size
        event = UsageRecorded(records=chunk)
        assert event.partition_key(TENANT) == f"{TENANT}/{usage_bucket(chunk[0]):02d}"


def test_one_org_always_has_the_same_key_and_a_large_tenant_spreads() -> None:
    first = UsageRecorded(records=(record("datto_rmm", "org-7", 1),))
    later = UsageRecorded(records=(record("datto_rmm", "org-7", 2),))
    assert first.partition_key(TENANT) == later.partition_key(TENANT)
    many = [record("datto_rmm", f"org-{i}") for i in range(500)]
    keys = {UsageRecorded(records=c).partition_key(TENANT) for c in usage_chunks(many, 1000)}
    assert len(keys) == USAGE_KEY_BUCKETS


def test_mixed_usage_and_other_events_are_keyed_by_tenant() -> None:
    spread = [record("datto_rmm", f"org-{i}") for i in range(50)]
    assert UsageRecorded(records=tuple(spread)).partition_key(TENANT) == TENANT
    synced = ModuleSynced(
        module="datto_rmm", date=date(2026, 3, 1), trigger="manual", outcome="succeeded"
    )
    assert synced.partition_key(TENANT) == TENANT
