"""An invoice document's kind and status, and the only status changes it may make.

PRODUCT.md section 6: ``draft`` -> ``posted`` -> ``paid``; ``draft`` or ``posted`` ->
``void``. A paid invoice stays paid (a balance that rises again is not in scope), and a void
one stays void. Posting, voiding and payments ask :func:`advance` before they change a
document, so no other path can move a status.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from shared.problems import Conflict


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    PAID = "paid"
    VOID = "void"


class InvoiceKind(StrEnum):
    """``invoice``, or a correction of a posted invoice: ``adjustment`` for a positive or
    zero difference, ``credit_note`` for a negative one."""

    INVOICE = "invoice"
    ADJUSTMENT = "adjustment"
    CREDIT_NOTE = "credit_note"


NUMBERED = (InvoiceStatus.POSTED, InvoiceStatus.PAID)
"""The statuses of a posted document: it has a number and never changes again."""
PAYABLE = (InvoiceKind.INVOICE, InvoiceKind.ADJUSTMENT)
"""Kinds that take payments; a credit note's balance is what the MSP owes the customer."""

TRANSITIONS: Mapping[InvoiceStatus, frozenset[InvoiceStatus]] = {
    InvoiceStatus.DRAFT: frozenset({InvoiceStatus.POSTED, InvoiceStatus.VOID}),
    InvoiceStatus.POSTED: frozenset({InvoiceStatus.PAID, InvoiceStatus.VOID}),
    InvoiceStatus.PAID: frozenset(),
    InvoiceStatus.VOID: frozenset(),
}

_REFUSALS = {
    InvoiceStatus.POSTED: "Only a draft can be posted; this invoice is {current}.",
    InvoiceStatus.PAID: "Payments are recorded against posted invoices; this one is {current}.",
    InvoiceStatus.VOID: "Only a draft or a posted invoice can be voided; it is {current}.",
    InvoiceStatus.DRAFT: "A {current} invoice never becomes a draft again.",
}


class TransitionRefused(Conflict):
    """A status change the lifecycle does not allow (409, as every conflict)."""


def allowed(current: InvoiceStatus, target: InvoiceStatus) -> bool:
    return target in TRANSITIONS[current]


def check(current: InvoiceStatus, target: InvoiceStatus) -> None:
    """Refuses (409) unless the lifecycle allows moving from ``current`` to ``target``."""
    if not allowed(current, target):
        raise TransitionRefused(_REFUSALS[target].format(current=current))


def advance(current: InvoiceStatus, target: InvoiceStatus) -> InvoiceStatus:
    """``target``, once :func:`check` allowed it."""
    check(current, target)
    return target
