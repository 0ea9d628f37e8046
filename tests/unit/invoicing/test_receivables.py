"""The pure parts of the receivables: amount and date checks, settlement of a balance,
overdue, and the aging buckets (PRODUCT.md section 12)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.invoicing.documents.lifecycle import InvoiceKind, InvoiceStatus
from services.invoicing.models import InvoiceRow
from services.invoicing.receivables.aging import OpenDocument, age, bucket
from services.invoicing.receivables.amounts import check_amount, check_date
from services.invoicing.receivables.overdue import is_overdue
from services.invoicing.receivables.settlement import move, unapplied
from shared.events import InvoicePaid
from shared.problems import ValidationFailed

TODAY = date(2026, 11, 30)
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


def _row(
    total: str,
    balance: str | None = None,
    *,
    kind: InvoiceKind = InvoiceKind.INVOICE,
    status: InvoiceStatus = InvoiceStatus.POSTED,
    due_on: date | None = date(2026, 11, 29),
) -> InvoiceRow:
    return InvoiceRow(
        id="i",
        tenant_id="t",
        company_id="c",
        currency="EUR",
        kind=kind,
        status=status,
        total=Decimal(total),
        balance=Decimal(balance if balance is not None else total),
        due_on=due_on,
    )


@pytest.mark.parametrize(
    ("amount", "currency", "msg"),
    [
        ("0", "EUR", "greater than 0"),
        ("-0.01", "EUR", "greater than 0"),
        ("0.001", "EUR", "EUR takes at most 2 digits"),
        ("1.5", "JPY", "JPY takes at most 0 digits"),
    ],
)
def test_amounts_are_positive_in_the_currencys_digits(amount: str, currency: str, msg: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_amount(Decimal(amount), currency)
    assert refused.value.errors == [{"loc": ["body", "amount"], "msg": refused.value.detail}]
    assert msg in refused.value.detail
    check_amount(Decimal("0.01"), "EUR")


@pytest.mark.parametrize(
    ("day", "ok"),
    [
        (date(2026, 11, 1), True),
        (TODAY, True),
        (date(2026, 12, 1), False),
        (date(2026, 10, 31), False),
    ],
)
def test_money_moves_between_posting_and_today(day: date, ok: bool) -> None:
    if ok:
        check_date(day, "received_on", posted_on=date(2026, 11, 1), today=TODAY)
        return
    with pytest.raises(ValidationFailed) as refused:
        check_date(day, "received_on", posted_on=date(2026, 11, 1), today=TODAY)
    assert refused.value.errors[0]["loc"] == ["body", "received_on"]


def test_a_balance_at_zero_is_paid_and_reopens_when_it_rises() -> None:
    row = _row("120.00", "20.00")
    assert move(row, Decimal("-5"), NOW) == []
    assert (row.balance, row.status) == (Decimal("15.00"), InvoiceStatus.POSTED)
    [paid] = move(row, Decimal("-15"), NOW)
    assert isinstance(paid, InvoicePaid)
    assert (paid.status, paid.balance, row.status) == ("paid", Decimal("0.00"), InvoiceStatus.PAID)
    assert move(row, Decimal("15"), NOW) == []
    assert row.status == InvoiceStatus.POSTED


def test_unapplied_is_a_credit_notes_negative_balance_turned_positive() -> None:
    assert unapplied(_row("-24.00", "-14.00", kind=InvoiceKind.CREDIT_NOTE)) == Decimal("14.00")
    assert unapplied(_row("24.00")) is None


@pytest.mark.parametrize(
    ("row", "overdue"),
    [
        (_row("10"), True),
        (_row("10", due_on=TODAY), False),
        (_row("10", "0", status=InvoiceStatus.PAID), False),
        (_row("10", status=InvoiceStatus.DRAFT, due_on=None), False),
        (_row("-10", kind=InvoiceKind.CREDIT_NOTE), False),
        (_row("10", kind=InvoiceKind.ADJUSTMENT), True),
    ],
)
def test_overdue_is_due_before_today_with_a_balance(row: InvoiceRow, overdue: bool) -> None:
    assert is_overdue(row, TODAY) is overdue


@pytest.mark.parametrize(
    ("days", "name"),
    [
        (-5, "current"),
        (0, "current"),
        (1, "days_1_30"),
        (30, "days_1_30"),
        (31, "days_31_60"),
        (60, "days_31_60"),
        (61, "days_61_90"),
        (90, "days_61_90"),
        (91, "days_over_90"),
    ],
)
def test_buckets_by_days_past_due(days: int, name: str) -> None:
    assert bucket(days) == name


def test_aging_adds_up_per_company_and_currency() -> None:
    def doc(company: str, currency: str, due: date, amount: str, kind: InvoiceKind) -> OpenDocument:
        return OpenDocument(company, company.title(), currency, kind, due, Decimal(amount))

    invoice, credit = InvoiceKind.INVOICE, InvoiceKind.CREDIT_NOTE
    rows = age(
        [
            doc("b", "EUR", date(2026, 12, 10), "100", invoice),
            doc("b", "EUR", date(2026, 10, 1), "20.5", InvoiceKind.ADJUSTMENT),
            doc("b", "EUR", date(2026, 1, 1), "7", credit),
            doc("b", "USD", date(2026, 11, 1), "30", invoice),
            doc("a", "EUR", date(2026, 8, 1), "5", invoice),
            doc("c", "EUR", date(2026, 8, 1), "0", invoice),
        ],
        TODAY,
    )

    assert [(r.company_id, r.currency) for r in rows] == [("a", "EUR"), ("b", "EUR"), ("b", "USD")]
    a, b_eur, b_usd = rows
    assert a.buckets["days_over_90"] == Decimal("5.00") and a.total == Decimal("5.00")
    assert (b_eur.buckets["current"], b_eur.buckets["days_31_60"]) == (
        Decimal("100.00"),
        Decimal("20.50"),
    )
    assert (b_eur.total, b_eur.unapplied_credit) == (Decimal("120.50"), Decimal("7.00"))
    assert (b_usd.buckets["days_1_30"], b_usd.total) == (Decimal("30.00"), Decimal("30.00"))
