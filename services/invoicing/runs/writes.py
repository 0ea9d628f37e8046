"""The writes of a billing run, buffered and sent as a few bulk statements.

Only drafts are ever written: every statement that changes or removes a document also
requires ``status = 'draft'`` (posted documents never change), and the run holds the
period's drafts locked, so a concurrent post waits for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import JSON, Table, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.invoicing.documents.content import LINE_COLUMNS, Content
from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.models import InvoiceLineRow, InvoiceRow
from services.invoicing.runs.compute import Computed, to_write
from shared.db import chunks, dialect_of
from shared.pg_copy import copy_text, copy_to_table

_invoices = cast(Table, InvoiceRow.__table__)
_lines = cast(Table, InvoiceLineRow.__table__)
LINES_PER_FLUSH = 5000
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class Target:
    """Where a document belongs."""

    company_id: str
    currency: str
    kind: InvoiceKind = InvoiceKind.INVOICE
    corrects: str | None = None


@dataclass
class DocumentWriter:
    session: AsyncSession
    tenant_id: str
    period: str
    now: datetime
    _created: list[dict[str, Any]] = field(default_factory=list)
    _refreshed: list[dict[str, Any]] = field(default_factory=list)
    _deleted: list[str] = field(default_factory=list)
    _lines: list[tuple[Any, ...]] = field(default_factory=list)
    _copied: list[bytes] = field(default_factory=list)
    """line rows as COPY text (PostgreSQL)"""
    _count: int = 0
    """lines waiting"""

    def create(self, target: Target, content: Content) -> str:
        invoice_id = str(uuid.uuid4())
        self.add(target, to_write(invoice_id, content))
        return invoice_id

    def add(self, target: Target, draft: Computed) -> None:
        """A new document: ``draft`` with its rows under its id."""
        self._created.append(
            {
                "id": draft.invoice_id,
                "tenant_id": self.tenant_id,
                "company_id": target.company_id,
                "period": self.period,
                "currency": target.currency,
                "kind": target.kind,
                "corrects": target.corrects,
                "status": InvoiceStatus.DRAFT,
                "number": None,
                **self._totals(draft),
                "created_at": self.now,
                "updated_at": self.now,
                "posted_at": None,
                "issued_on": None,
                "due_on": None,
                "parties": None,
            }
        )
        self._add_lines(draft)

    def refresh(self, invoice_id: str, kind: InvoiceKind, content: Content) -> None:
        self.replace(kind, to_write(invoice_id, content))

    def replace(self, kind: InvoiceKind, draft: Computed) -> None:
        """The draft ``draft.invoice_id`` gets ``draft``'s totals and rows."""
        self._refreshed.append(
            {"b_id": draft.invoice_id, "kind": kind, **self._totals(draft), "updated_at": self.now}
        )
        self._add_lines(draft)

    def _add_lines(self, draft: Computed) -> None:
        if isinstance(draft.rows, bytes):
            self._copied.append(draft.rows)
            self._count += draft.rows.count(b"\n")
        elif draft.rows:
            self._lines.extend(draft.rows)
            self._count += len(draft.rows)

    def delete(self, invoice_id: str) -> None:
        self._deleted.append(invoice_id)

    @staticmethod
    def _totals(draft: Computed) -> dict[str, Any]:
        subtotal, tax_rate, tax, total = draft.totals
        return {
            "subtotal": subtotal,
            "tax_rate": tax_rate,
            "tax": tax,
            "total": total,
            "balance": total,
            "fingerprint": draft.fingerprint,
        }

    async def flush_if_full(self) -> None:
        if self._count >= LINES_PER_FLUSH:
            await self.flush()

    async def flush(self) -> None:
        session = self.session
        gone = [r["b_id"] for r in self._refreshed] + self._deleted
        drafts = _invoices.c.status == InvoiceStatus.DRAFT
        for part in chunks(gone, CHUNK):
            await session.execute(
                delete(_lines).where(
                    _lines.c.invoice_id.in_(
                        select(_invoices.c.id).where(_invoices.c.id.in_(part), drafts)
                    )
                )
            )
        for part in chunks(self._deleted, CHUNK):
            await session.execute(delete(_invoices).where(_invoices.c.id.in_(part), drafts))
        if self._refreshed:
            columns = [k for k in self._refreshed[0] if k != "b_id"]
            await session.execute(
                update(_invoices)
                .where(_invoices.c.id == bindparam("b_id"), drafts)
                .values({k: bindparam(k + "_v") for k in columns}),
                [{"b_id": r["b_id"], **{k + "_v": r[k] for k in columns}} for r in self._refreshed],
            )
        if self._created:
            columns = list(self._created[0])
            await self._insert(
                _invoices, columns, [tuple(row[c] for c in columns) for row in self._created]
            )
        await self._insert(_lines, list(LINE_COLUMNS), self._lines, self._copied)
        self._created, self._refreshed, self._deleted = [], [], []
        self._lines, self._copied, self._count = [], [], 0

    async def _insert(
        self,
        table: Table,
        columns: list[str],
        rows: list[tuple[Any, ...]],
        copied: Sequence[bytes] = (),
    ) -> None:
        """``rows``, and on PostgreSQL rows already as COPY text (``copied``)."""
        if dialect_of(self.session) == "postgresql":
            # COPY, in this transaction: an order of magnitude faster than multi-row INSERTs
            # for the hundreds of thousands of lines a large run writes.
            text = b"".join([*copied, copy_text(rows)])
            await copy_to_table(self.session, table, columns, text)
            return
        assert not copied, "COPY text is for PostgreSQL"
        # Lines carry their JSON columns as text, as COPY takes them; the JSON type of an
        # INSERT wants the values.
        decode = {c for c in columns if isinstance(table.c[c].type, JSON)}
        for part in chunks(rows, CHUNK):
            await self.session.execute(
                table.insert(),
                [
                    {
                        c: orjson.loads(v) if c in decode and v is not None else v
                        for c, v in zip(columns, row, strict=True)
                    }
                    for row in part
                ],
            )
