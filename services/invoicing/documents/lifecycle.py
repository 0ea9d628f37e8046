"""An invoice document's kind and status, and the only status changes it may make.

PRODUCT.md sections 6 and 12: ``draft`` -> ``posted`` -> ``paid``; ``draft`` or ``posted``
-> ``void``; ``paid`` -> ``posted`` again when a payment is reversed. A void document stays
void. Posting, voiding and the receivables ask :func:`advance` before they change a
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
    InvoiceStatus.PAID: frozenset({InvoiceStatus.POSTED}),
    InvoiceStatus.VOID: frozenset(),
}

_REFUSALS = {
    InvoiceStatus.POSTED: "Only a draft is posted, and only a paid invoice reopens; this one is "
    "{current}.",
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


def check_draft(current: InvoiceStatus) -> None:
    """Posting: only a draft (a paid invoice may return to ``posted``, but is not posted)."""
    if current != InvoiceStatus.DRAFT:
        raise TransitionRefused(f"Only a draft can be posted; this invoice is {current}.")


def advance(current: InvoiceStatus, target: InvoiceStatus) -> InvoiceStatus:
    """``target``, once :func:`check` allowed it."""
    check(current, target)
    return target
