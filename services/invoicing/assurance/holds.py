"""Holds on drafts with anomalous lines (PRODUCT.md section 11): recomputed for a period's
drafts after each billing run, released with a note, and checked before posting."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.assurance.anomaly import BASELINE_PERIODS, Reason, reasons, still_released
from services.invoicing.assurance.models import InvoiceHoldRow
from services.invoicing.assurance.tenant_settings import tenant_settings
from services.invoicing.documents.content import LineFacts
from services.invoicing.documents.formatting import quantity, utc
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.documents.queries import load_invoice
from services.invoicing.models import InvoiceLineRow, InvoiceRow
from shared.clock import Clock, utc_now
from shared.db import chunks
from shared.problems import Conflict

_i = InvoiceRow.__table__.c
_l = InvoiceLineRow.__table__.c
ID_CHUNK = 1000


class InvoiceHeld(Conflict):
    slug, title = "invoice-held", "Invoice held for review"


class NotHeld(Conflict):
    pass


@dataclass(frozen=True)
class Hold:
    reasons: list[Reason]
    released_by: str | None
    released_at: datetime | None
    note: str | None

    @property
    def released(self) -> bool:
        return self.released_at is not None


def _stored(found: Sequence[Reason]) -> list[dict[str, Any]]:
    return [
        {
            "line_id": r.line_id,
            "service_code": r.service_code,
            "quantity": str(quantity(r.quantity)),
            "baseline": str(quantity(r.baseline)),
        }
        for r in found
    ]


def _parsed(stored: Sequence[dict[str, Any]]) -> list[Reason]:
    return [
        Reason(r["line_id"], r["service_code"], Decimal(r["quantity"]), Decimal(r["baseline"]))
        for r in stored
    ]


def _hold(row: InvoiceHoldRow) -> Hold:
    return Hold(_parsed(row.reasons), row.released_by, utc(row.released_at), row.note)


@dataclass(frozen=True, slots=True)
class _Draft:
    company_id: str
    currency: str
    lines: LineFacts


# Every read here is by an index and by ids: a billing run calls ``refresh_holds`` right
# after writing the period, when the planner's statistics may still say the tables are empty,
# and a join planned on that (each draft against every earlier invoice or line) takes minutes.


async def _drafts(
    session: AsyncSession, tenant_id: str, period: str, known: Mapping[str, LineFacts]
) -> dict[str, _Draft]:
    """The period's regular drafts with their lines (read unless ``known``)."""
    found: dict[str, _Draft] = {}
    drafts = select(_i.id, _i.company_id, _i.currency).where(
        _i.tenant_id == tenant_id,
        _i.period == period,
        _i.kind == InvoiceKind.INVOICE,
        _i.status == InvoiceStatus.DRAFT,
    )
    for invoice_id, company_id, currency in await session.execute(drafts):
        found[invoice_id] = _Draft(company_id, currency, list(known.get(invoice_id, ())))
    for part in chunks([i for i in found if i not in known], ID_CHUNK):
        query = (
            select(_l.invoice_id, _l.id, _l.service_code, _l.quantity)
            .where(_l.invoice_id.in_(part))
            .order_by(_l.invoice_id, _l.position)
        )
        for invoice_id, line_id, code, amount in await session.execute(query):
            found[invoice_id].lines.append((line_id, code, amount))
    return found


async def _history(
    session: AsyncSession, tenant_id: str, period: str, drafts: dict[str, _Draft]
) -> dict[str, list[dict[str, Decimal]]]:
    """Per draft: its company's quantities per service code in the up to 3 most recent
    earlier periods with a regular invoice in the draft's currency, newest first."""
    wanted = {(d.company_id, d.currency) for d in drafts.values()}
    earlier: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    query = select(_i.company_id, _i.currency, _i.period, _i.id).where(
        _i.tenant_id == tenant_id,
        _i.period < period,
        _i.kind == InvoiceKind.INVOICE,
        _i.status != InvoiceStatus.VOID,
    )
    for company_id, currency, earlier_period, invoice_id in await session.execute(query):
        if (company_id, currency) in wanted:
            earlier[(company_id, currency)].append((earlier_period, invoice_id))
    chosen = {
        key: [invoice_id for _, invoice_id in sorted(found, reverse=True)[:BASELINE_PERIODS]]
        for key, found in earlier.items()
    }
    shares: dict[str, dict[str, Decimal]] = {i: {} for ids in chosen.values() for i in ids}
    for part in chunks(list(shares), ID_CHUNK):
        lines = (
            select(_l.invoice_id, _l.service_code, func.sum(_l.quantity))
            .where(_l.invoice_id.in_(part))
            .group_by(_l.invoice_id, _l.service_code)
        )
        for invoice_id, code, total in await session.execute(lines):
            shares[invoice_id][code] = Decimal(total)
    return {
        draft_id: [shares[i] for i in chosen[(d.company_id, d.currency)]]
        for draft_id, d in drafts.items()
        if (d.company_id, d.currency) in chosen
    }


async def refresh_holds(
    session: AsyncSession,
    tenant_id: str,
    period: str,
    clock: Clock = utc_now,
    known: Mapping[str, LineFacts] | None = None,
) -> None:
    """Holds every regular draft of the period that has an anomalous line, and lifts the
    holds that have none any more. A release stays while the anomalous lines keep their
    quantities; when one changes the draft is held again. ``known``: the lines of drafts
    the caller knows as stored (by invoice id; a billing run computed them), not read again."""
    limits = (await tenant_settings(session, tenant_id)).thresholds
    drafts = await _drafts(session, tenant_id, period, known or {})
    history = await _history(session, tenant_id, period, drafts)
    existing = {
        row.invoice_id: row
        for row in await session.scalars(
            select(InvoiceHoldRow).where(
                InvoiceHoldRow.tenant_id == tenant_id, InvoiceHoldRow.period == period
            )
        )
    }
    now = clock()
    lifted: list[str] = []
    for invoice_id, kept in existing.items():
        if invoice_id not in drafts and kept.released_at is None:
            lifted.append(invoice_id)  # posted with no hold left, voided or deleted
    for invoice_id, draft in drafts.items():
        found = reasons(draft.lines, history.get(invoice_id, []), limits)
        row = existing.get(invoice_id)
        if not found:
            if row is not None:
                lifted.append(invoice_id)
            continue
        stored = _stored(found)
        if row is None:
            session.add(
                InvoiceHoldRow(
                    invoice_id=invoice_id,
                    tenant_id=tenant_id,
                    period=period,
                    reasons=stored,
                    updated_at=now,
                )
            )
            continue
        if row.reasons == stored:
            continue
        if row.released_at is not None and not still_released(_parsed(row.reasons), found):
            row.released_by = row.released_at = row.note = None
        row.reasons = stored
        row.updated_at = now
    if lifted:
        await session.execute(delete(InvoiceHoldRow).where(InvoiceHoldRow.invoice_id.in_(lifted)))
    await session.flush()


async def hold_of(session: AsyncSession, invoice_id: str) -> Hold | None:
    row = await session.get(InvoiceHoldRow, invoice_id)
    return None if row is None else _hold(row)


async def holds_of(session: AsyncSession, invoice_ids: Sequence[str]) -> dict[str, Hold]:
    """The holds of these invoices, by invoice id (a listed page)."""
    if not invoice_ids:
        return {}
    rows = await session.scalars(
        select(InvoiceHoldRow).where(InvoiceHoldRow.invoice_id.in_(list(invoice_ids)))
    )
    return {row.invoice_id: _hold(row) for row in rows}


async def check_postable(session: AsyncSession, invoice: InvoiceRow) -> None:
    """Refuses to post a held draft that nobody released."""
    hold = await hold_of(session, invoice.id)
    if hold is not None and not hold.released:
        codes = ", ".join(r.service_code for r in hold.reasons)
        raise InvoiceHeld(
            f"Invoice {invoice.id} is held: unusual quantities of {codes}. Check them, then "
            f"release it with POST /v1/invoices/{invoice.id}/release {{note}} and post again."
        )


async def release(
    session: AsyncSession,
    tenant_id: str,
    invoice_id: str,
    *,
    key_id: str,
    note: str,
    clock: Clock = utc_now,
) -> Hold:
    """Releases the draft's hold; it stays released through refreshes that keep the
    anomalous quantities."""
    invoice = await load_invoice(session, tenant_id, invoice_id, lock=True)
    row = await session.get(InvoiceHoldRow, invoice.id)
    if invoice.status != InvoiceStatus.DRAFT or row is None:
        raise NotHeld(f"Invoice {invoice_id} is not a held draft: nothing to release.")
    row.released_by = key_id
    row.released_at = clock()
    row.note = note
    row.updated_at = row.released_at
    await session.flush()
    return _hold(row)


async def held_drafts(session: AsyncSession, tenant_id: str) -> list[tuple[InvoiceRow, Hold]]:
    """The tenant's drafts held and not released (the ``usage_anomaly`` insight)."""
    rows = await session.execute(
        select(InvoiceRow, InvoiceHoldRow)
        .join(InvoiceHoldRow, InvoiceHoldRow.invoice_id == InvoiceRow.id)
        .where(
            InvoiceHoldRow.tenant_id == tenant_id,
            InvoiceHoldRow.released_at.is_(None),
            InvoiceRow.status == InvoiceStatus.DRAFT,
        )
        .order_by(InvoiceRow.period, InvoiceRow.company_id)
    )
    return [(invoice, _hold(hold)) for invoice, hold in rows]
