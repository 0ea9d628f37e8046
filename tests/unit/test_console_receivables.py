"""The receivables page's sums: per currency, never across currencies, in Decimal."""

from __future__ import annotations

from decimal import Decimal

from services.console.pages.receivables import BUCKETS, currency_totals


def row(currency: str, **amounts: str) -> dict[str, str]:
    zero = {key: "0.00" for key, _ in BUCKETS} | {"unapplied_credit": "0.00"}
    return {"currency": currency, **zero, **amounts}


def test_each_column_is_summed_per_currency() -> None:
    totals = currency_totals(
        [
            row("EUR", days_1_30="0.10", total="0.10"),
            row("USD", current="5.00", total="5.00"),
            row("EUR", days_1_30="0.20", days_over_90="3.33", total="3.53", unapplied_credit="1"),
        ]
    )
    assert list(totals) == ["EUR", "USD"]
    assert totals["EUR"]["days_1_30"] == Decimal("0.30")
    assert totals["EUR"]["days_over_90"] == Decimal("3.33")
    assert totals["EUR"]["total"] == Decimal("3.63")
    assert totals["EUR"]["unapplied_credit"] == Decimal("1.00")
    assert totals["USD"]["current"] == Decimal("5.00") and totals["USD"]["total"] == Decimal("5")
