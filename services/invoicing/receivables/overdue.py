"""Overdue: an invoice or adjustment whose due date lies before today (tenant's zone) and
whose balance is not 0. The due date is the posting date plus the seller profile's payment
terms (``due_on``). A credit note is never overdue: its open part is owed to the customer."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, not_

from services.invoicing.documents.lifecycle import NUMBERED, PAYABLE
from services.invoicing.models import InvoiceRow


def is_overdue(row: InvoiceRow, today: date) -> bool:
    return (
        row.kind in PAYABLE
        and row.status in NUMBERED
        and row.due_on is not None
        and row.due_on < today
        and row.balance != 0
    )


def overdue_clause(today: date, overdue: bool) -> Any:
    """The SQL condition of :func:`is_overdue` (or of its negation)."""
    clause = and_(
        InvoiceRow.kind.in_(PAYABLE),
        InvoiceRow.status.in_(NUMBERED),
        InvoiceRow.due_on.is_not(None),
        InvoiceRow.due_on < today,
        InvoiceRow.balance != 0,
    )
    return clause if overdue else not_(clause)
