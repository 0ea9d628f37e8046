"""Event contracts: the versioned envelope and every event's data, defined once.

Changes are additive. A breaking change is a new ``version`` (or a new type), never an edit.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Protocol, TypeVar, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    create_model,
)


class Event(BaseModel):
    """An event's data. ``PUBLIC`` events are the contract with downstream systems: they are
    described in the AsyncAPI document and can be subscribed to by webhooks. Every type and
    version has a JSON Schema in ``shared/event_contract/schemas`` (``python -m
    shared.event_contract`` writes it)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    PUBLIC: ClassVar[bool] = False

    def partition_key(self, tenant_id: str) -> str:
        """The message key: the events of one key stay in order on one partition."""
        return tenant_id


USAGE_KEY_BUCKETS = 32
"""Usage is keyed by its ``(tenant, module, org_id)`` folded into this many buckets a tenant:
a large tenant spreads over every partition, each key keeps its order (its bucket is fixed),
and a push of a thousand orgs' days stays a few dozen messages rather than a thousand."""


class _OrgRecord(Protocol):
    @property
    def module(self) -> str: ...

    @property
    def org_id(self) -> str: ...


R = TypeVar("R", bound=_OrgRecord)


def usage_bucket(record: _OrgRecord) -> int:
    return zlib.crc32(f"{record.module}\x1f{record.org_id}".encode()) % USAGE_KEY_BUCKETS


def usage_chunks(records: Sequence[R], size: int) -> Iterator[tuple[R, ...]]:
    """The records in events of at most ``size`` whose records share one bucket."""
    buckets: dict[int, list[R]] = {}
    for record in records:
        buckets.setdefault(usage_bucket(record), []).append(record)
    for _, group in sorted(buckets.items()):
        for i in range(0, len(group), size):
            yield tuple(group[i : i + size])


def _usage_key(tenant_id: str, records: Sequence[_OrgRecord]) -> str:
    buckets = {usage_bucket(r) for r in records}
    return f"{tenant_id}/{buckets.pop():02d}" if len(buckets) == 1 else tenant_id


class UsageRecord(BaseModel):
    """One stored usage record; ``revision`` grows by one with every correction of its key."""

    model_config = ConfigDict(frozen=True)
    module: str
    org_id: str
    org_name: str
    metric: str
    date: date
    quantity: Decimal
    revision: int


class UsageRecorded(Event):
    TYPE = "usage.recorded"
    records: tuple[UsageRecord, ...]

    def partition_key(self, tenant_id: str) -> str:
        return _usage_key(tenant_id, self.records)


MappingStatus = Literal["mapped", "unmapped", "excluded"]


class ResolvedUsage(BaseModel):
    """A usage record with its resolution. ``version`` grows with every re-resolution of its key."""

    model_config = ConfigDict(frozen=True)
    module: str
    org_id: str
    metric: str
    date: date
    quantity: Decimal
    version: int
    status: MappingStatus
    company_id: str | None = None
    service_codes: tuple[str, ...] = ()


class UsageResolved(Event):
    TYPE = "usage.resolved"
    records: tuple[ResolvedUsage, ...]

    def partition_key(self, tenant_id: str) -> str:
        return _usage_key(tenant_id, self.records)


class MappingChanged(Event):
    TYPE = "mapping.changed"
    kind: Literal["org", "service"]
    module: str
    org_id: str | None = None
    metric: str | None = None
    company_id: str | None = None
    excluded: bool = False
    service_codes: tuple[str, ...] = ()
    reresolved: int = 0
    actor: str | None = None


class CompanyData(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    name: str
    external_ref: str | None = None
    tax_rate: Decimal
    currency: str | None = None


class CompanyChanged(Event):
    TYPE = "company.changed"
    company: CompanyData


class ModuleBillingChanged(Event):
    TYPE = "module.billing_changed"
    module: str
    enabled: bool
    effective_from: date | None = None


class ModuleSynced(Event):
    """A daily pull of one module's day ended: ``succeeded`` or, after its last attempt,
    ``failed`` (the day then stays missing and is estimated until a later sync delivers it)."""

    TYPE = "module.synced"
    module: str
    date: date
    trigger: Literal["scheduled", "manual"]
    outcome: Literal["succeeded", "failed"]
    records: int = 0
    rejected: int = 0
    error: str | None = None


class ContractChanged(Event):
    """A recurring service contract was created or changed: its whole current state.

    Contracts cannot be deleted (ending one is moving its ``end_date``), so there is no
    removal. ``updated_at`` orders the states of one contract for replicas."""

    TYPE = "contract.changed"
    contract_id: str
    company_id: str
    start_date: date
    end_date: date | None = None
    service_codes: tuple[str, ...]
    updated_at: datetime


_MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
INVOICE_SNAPSHOT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "The invoice as GET /v1/invoices/{id} answers it, at the moment of the event.",
    "properties": {
        "id": {"type": "string"},
        "number": {"type": ["integer", "null"]},
        "kind": {"enum": ["invoice", "adjustment", "credit_note"]},
        "corrects": {"type": ["string", "null"]},
        "company_id": {"type": "string"},
        "period": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3},
        "status": {"type": "string"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "service_code": {"type": "string"},
                    "description": {"type": "string"},
                    "quantity": _MONEY,
                    "unit_price": _MONEY,
                    "amount": _MONEY,
                },
                "required": ["id", "service_code", "quantity", "unit_price", "amount"],
            },
        },
        "subtotal": _MONEY,
        "tax_rate": _MONEY,
        "tax": _MONEY,
        "total": _MONEY,
        "balance": _MONEY,
    },
    "required": [
        "id",
        "number",
        "kind",
        "company_id",
        "period",
        "currency",
        "status",
        "lines",
        "subtotal",
        "tax",
        "total",
        "balance",
    ],
}


class InvoicePosted(Event):
    """``invoice`` as ``GET /v1/invoices/{id}`` shows it at posting; ``status`` and
    ``balance`` repeat its own (a zero total is ``paid`` at once)."""

    TYPE = "invoice.posted"
    PUBLIC = True
    invoice: Annotated[dict[str, Any], WithJsonSchema(INVOICE_SNAPSHOT_SCHEMA)]
    status: str | None = None
    balance: Decimal | None = None


class InvoiceBalanceEvent(Event):
    """A change to what is open on a posted document: the document's resulting ``status``
    and ``balance`` (negative for a credit note's unapplied credit). Folding the amounts of
    these events over ``invoice.posted`` rebuilds every balance."""

    PUBLIC = True

    invoice_id: str
    company_id: str
    currency: str
    status: str
    balance: Decimal


class InvoiceVoided(InvoiceBalanceEvent):
    TYPE = "invoice.voided"
    number: int | None = None


class InvoicePaid(InvoiceBalanceEvent):
    """The balance reached 0: by a payment, an applied credit, or a zero total at posting."""

    TYPE = "invoice.paid"


class PaymentRecorded(InvoiceBalanceEvent):
    TYPE = "payment.recorded"
    payment_id: str
    amount: Decimal
    received_on: date
    reference: str | None = None


class PaymentReversed(InvoiceBalanceEvent):
    """A payment undone (it stays recorded, marked reversed): ``amount`` is open again."""

    TYPE = "payment.reversed"
    payment_id: str
    amount: Decimal
    reversed_on: date
    reason: str


class CreditNoteApplied(InvoiceBalanceEvent):
    """Credit of ``credit_note_id`` set against ``invoice_id``: ``status`` and ``balance`` are
    the invoice's, ``credit_note_*`` and ``unapplied`` the credit note's after it."""

    TYPE = "credit_note.applied"
    application_id: str
    credit_note_id: str
    amount: Decimal
    applied_on: date
    automatic: bool
    credit_note_status: str
    credit_note_balance: Decimal
    unapplied: Decimal


class CreditNoteRefunded(InvoiceBalanceEvent):
    """Unapplied credit paid out to the customer: ``invoice_id`` is the credit note's."""

    TYPE = "credit_note.refunded"
    refund_id: str
    amount: Decimal
    paid_on: date
    reference: str | None = None
    unapplied: Decimal


class WebhookEndpointDisabled(Event):
    """A webhook endpoint was disabled after days in which every delivery failed; its
    deliveries wait until a manual retry succeeds. Meant for an insight of the tenant."""

    TYPE = "webhook.endpoint_disabled"
    endpoint_id: str
    url: str
    failing_since: datetime
    reason: str


EVENT_TYPES: dict[str, type[Event]] = {
    cls.TYPE: cls
    for cls in (
        UsageRecorded,
        UsageResolved,
        MappingChanged,
        CompanyChanged,
        ModuleBillingChanged,
        ModuleSynced,
        ContractChanged,
        InvoicePosted,
        InvoiceVoided,
        InvoicePaid,
        PaymentRecorded,
        PaymentReversed,
        CreditNoteApplied,
        CreditNoteRefunded,
        WebhookEndpointDisabled,
    )
}

DEAD_LETTER = "dead-letter"


class EnvelopeHead(BaseModel):
    """Everything of an envelope but its data."""

    model_config = ConfigDict(frozen=True)
    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int
    tenant_id: str
    occurred_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


class Envelope(EnvelopeHead):
    """The envelope with its data as plain JSON values, for any type and version."""

    data: dict[str, Any]

    @classmethod
    def wrap(cls, tenant_id: str, event: Event) -> Envelope:
        return cls(
            type=event.TYPE,
            version=event.VERSION,
            tenant_id=tenant_id,
            data=event.model_dump(mode="json"),
        )

    def open(self) -> Event:
        """The typed event; raises ``UnknownEvent`` or pydantic's ``ValidationError``."""
        cls = EVENT_TYPES.get(self.type)
        if cls is None or self.version > cls.VERSION:
            raise UnknownEvent(f"no contract for {self.type} v{self.version}")
        return cls.model_validate(self.data)


def encode(tenant_id: str, event: Event) -> str:
    """The envelope of ``event`` as JSON, serialised in one pass (usage events carry
    thousands of records)."""
    head = EnvelopeHead(type=event.TYPE, version=event.VERSION, tenant_id=tenant_id)
    return f'{head.model_dump_json()[:-1]},"data":{event.model_dump_json()}}}'


def _typed_envelope(cls: type[Event]) -> Any:
    type_field: Any = (Literal[cls.TYPE], ...)
    return create_model(
        f"{cls.__name__}Envelope", __base__=EnvelopeHead, type=type_field, data=(cls, ...)
    )


_ANY_TYPED: Any = Union[tuple(_typed_envelope(c) for c in EVENT_TYPES.values())]  # noqa: UP007
_TYPED_ENVELOPES: TypeAdapter[Any] = TypeAdapter(Annotated[_ANY_TYPED, Field(discriminator="type")])


def decode(raw: bytes | str) -> tuple[EnvelopeHead, Event]:
    """The envelope and its typed event, parsed straight from JSON in one pass; raises
    ``UnknownEvent`` or pydantic's ``ValidationError`` like ``Envelope.open``."""
    try:
        typed = _TYPED_ENVELOPES.validate_json(raw)
    except ValidationError:
        envelope = Envelope.model_validate_json(raw)
        return envelope, envelope.open()
    event: Event = typed.data
    if typed.version > event.VERSION:
        raise UnknownEvent(f"no contract for {typed.type} v{typed.version}")
    return typed, event


class UnknownEvent(ValueError):
    pass


class DeadLetter(BaseModel):
    """What could not be processed, with the reason, as published on the dead-letter topic."""

    model_config = ConfigDict(frozen=True)
    group: str
    topic: str
    partition: int
    offset: int
    key: str | None
    value: str
    reason: str
    failed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))


def topic_for(prefix: str, event_type: str) -> str:
    return f"{prefix}{event_type}"


def all_topics(prefix: str) -> list[str]:
    return [topic_for(prefix, t) for t in (*EVENT_TYPES, DEAD_LETTER)]
