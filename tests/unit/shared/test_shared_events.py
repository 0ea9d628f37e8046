from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.events import (
    DEAD_LETTER,
    EVENT_TYPES,
    CompanyChanged,
    CompanyData,
    DeadLetter,
    Envelope,
    MappingChanged,
    ResolvedUsage,
    UnknownEvent,
    UsageRecord,
    UsageRecorded,
    UsageResolved,
    all_topics,
    topic_for,
)

TENANT = "11111111-1111-1111-1111-111111111111"
EXACT = "12345678901234567890.1234"


def recorded(quantity: str = "1.5") -> UsageRecorded:
    record = UsageRecord(
        module="datto_azure_backup",
        org_id="org-1",
        org_name="Acme",
        metric="storage_tb",
        date=date(2026, 1, 31),
        quantity=Decimal(quantity),
        revision=2,
    )
    return UsageRecorded(records=(record,))


def test_envelope_round_trip() -> None:
    event = recorded()
    envelope = Envelope.wrap(TENANT, event)
    again = Envelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert (again.type, again.version, again.tenant_id) == ("usage.recorded", 1, TENANT)
    assert isinstance(again.id, uuid.UUID)
    assert again.occurred_at.tzinfo is not None
    assert abs((datetime.now(UTC) - again.occurred_at).total_seconds()) < 60
    assert again.open() == event
    assert type(again.open()) is UsageRecorded


def test_every_wrap_has_its_own_id() -> None:
    assert Envelope.wrap(TENANT, recorded()).id != Envelope.wrap(TENANT, recorded()).id


@pytest.mark.parametrize(
    "event",
    [
        recorded(),
        UsageResolved(
            records=(
                ResolvedUsage(
                    module="dark_web_id",
                    org_id="o",
                    metric="domains",
                    date=date(2026, 1, 1),
                    quantity=Decimal("3"),
                    version=1,
                    status="mapped",
                    company_id="c-1",
                    service_codes=("A", "B"),
                ),
            )
        ),
        MappingChanged(kind="service", module="dark_web_id", metric="domains", reresolved=4),
        CompanyChanged(company=CompanyData(id="c", name="N", tax_rate=Decimal("0.19"))),
    ],
)
def test_every_contract_round_trips(event: UsageRecorded) -> None:
    envelope = Envelope.model_validate_json(Envelope.wrap(TENANT, event).model_dump_json())
    assert envelope.open() == event
    assert EVENT_TYPES[envelope.type] is type(event)


def test_unknown_type_is_refused() -> None:
    envelope = Envelope(type="usage.teleported", version=1, tenant_id=TENANT, data={})
    with pytest.raises(UnknownEvent, match=r"^no contract for usage.teleported v1$"):
        envelope.open()


def test_newer_version_is_refused() -> None:
    envelope = Envelope.wrap(TENANT, recorded()).model_copy(update={"version": 2})
    with pytest.raises(UnknownEvent, match=r"^no contract for usage.recorded v2$"):
        envelope.open()


def test_unknown_event_is_a_value_error() -> None:
    assert issubclass(UnknownEvent, ValueError)


def test_invalid_data_is_refused() -> None:
    envelope = Envelope(type="usage.recorded", version=1, tenant_id=TENANT, data={"records": 3})
    with pytest.raises(ValidationError):
        envelope.open()


def test_unknown_fields_are_ignored_so_additions_stay_compatible() -> None:
    data = Envelope.wrap(TENANT, recorded()).data | {"added_later": "x"}
    envelope = Envelope(type="usage.recorded", version=1, tenant_id=TENANT, data=data)
    assert envelope.open() == recorded()


def test_decimal_travels_as_an_exact_string() -> None:
    payload = Envelope.wrap(TENANT, recorded(EXACT)).model_dump_json()
    raw = json.loads(payload)["data"]["records"][0]["quantity"]
    assert raw == EXACT
    opened = Envelope.model_validate_json(payload).open()
    assert isinstance(opened, UsageRecorded)
    assert opened.records[0].quantity == Decimal(EXACT)
    assert str(opened.records[0].quantity) == EXACT


@pytest.mark.parametrize("value", ["0.1", "1.2300", "0.0001", "1E+3"])
def test_decimal_keeps_its_digits(value: str) -> None:
    payload = Envelope.wrap(TENANT, recorded(value)).model_dump_json()
    assert json.loads(payload)["data"]["records"][0]["quantity"] == value
    opened = Envelope.model_validate_json(payload).open()
    assert isinstance(opened, UsageRecorded)
    assert str(opened.records[0].quantity) == value


def test_contracts_are_frozen() -> None:
    event = recorded()
    with pytest.raises(ValidationError):
        event.records = ()  # type: ignore[misc]


def test_topics() -> None:
    assert topic_for("icb.", "usage.recorded") == "icb.usage.recorded"
    topics = all_topics("p.")
    assert topics == [f"p.{t}" for t in EVENT_TYPES] + [f"p.{DEAD_LETTER}"]
    assert len(set(topics)) == len(topics)


def test_event_types_are_keyed_by_their_type() -> None:
    assert all(t == cls.TYPE for t, cls in EVENT_TYPES.items())


def test_dead_letter_round_trip() -> None:
    letter = DeadLetter(
        group="g", topic="t", partition=1, offset=7, key=None, value="{", reason="undecodable"
    )
    assert DeadLetter.model_validate_json(letter.model_dump_json()) == letter
