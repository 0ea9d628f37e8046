"""What a printed line says besides quantity x price = amount: the part of the month it
covers (a segment of an amended contract), its estimated days, and how its amount was
reached where the unit price is derived (tiers, a minimum, proration) or a correction's
quantity x price does not give its amount (its before and after).

A clerk checks each line with a calculator; these notes are what makes the check succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from services.invoicing.billing import parse_period
from services.invoicing.documents.content import parse_daily
from services.invoicing.documents.formatting import money
from services.invoicing.documents.shape import line_period, pricing_detail
from services.invoicing.models import InvoiceLineRow


@dataclass(frozen=True)
class PricingRow:
    """One row under a line: a label, and where it has them, units, a price and an amount
    that multiply out."""

    label: str
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    amount: Decimal | None = None


def segment(line: InvoiceLineRow, period: str) -> tuple[date, date] | None:
    """The line's days when they are not the whole period (an amendment split the month)."""
    start, end = line_period(line, period)
    return None if (start, end) == parse_period(period) else (start, end)


def estimated_days(line: InvoiceLineRow, period: str) -> list[date]:
    """The days on which some source of the line counted a carried-forward quantity."""
    month_start = parse_period(period)[0]
    return sorted({day for s in parse_daily(line.daily, month_start) for day, _, e in s.days if e})


def day_ranges(days: list[date]) -> str:
    """``2026-10-05 to 2026-10-07, 2026-10-12``: consecutive days joined."""
    runs: list[list[date]] = []
    for day in days:
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(
        r[0].isoformat() if len(r) == 1 else f"{r[0].isoformat()} to {r[-1].isoformat()}"
        for r in runs
    )


def _tier_label(tier: dict[str, Any], volume: bool) -> str:
    lower = f"{Decimal(tier['from']).normalize():f}"
    upper = tier.get("up_to")
    span = f"over {lower}" if upper is None else f"{lower} to {Decimal(upper).normalize():f}"
    return f"Volume tier {span} units (every unit)" if volume else f"Tier {span} units"


def _calculation_rows(calc: dict[str, Any], currency: str, prefix: str = "") -> list[PricingRow]:
    """Tiers, minimum and proration of one calculation. A prorated line's tiers show their
    whole-month amounts (``quantity x unit_price``), so each row multiplies out; the
    proration row says by how much they shrink."""
    volume = calc.get("model") == "volume"
    basis = calc.get("counting_basis")
    active, days = calc.get("active_days"), calc.get("days_in_period")
    prorated = basis != "daily" and active is not None and bool(days) and active < days
    rows = []
    for t in calc.get("tiers") or ():
        units, unit_price = Decimal(t["quantity"]), Decimal(t["unit_price"])
        amount = money(units * unit_price, currency) if prorated else Decimal(t["amount"])
        rows.append(PricingRow(prefix + _tier_label(t, volume), units, unit_price, amount))
    if calc.get("minimum_applied"):
        per = " a day" if basis == "daily" else ""
        minimum = Decimal(calc["minimum_units"]).normalize()
        rows.append(PricingRow(f"{prefix}Minimum of {minimum:f} units{per} applied"))
    if prorated:
        rows.append(PricingRow(f"{prefix}Prorated: x {active}/{days} days of the month"))
    return rows


def pricing_rows(line: InvoiceLineRow, currency: str) -> list[PricingRow]:
    """How the amount was reached where the unit price is not simply the contract's: the
    tiers used, a minimum that applied, proration of a monthly basis; for a correction
    line whose quantity x unit price is not its amount, what was invoiced and what the
    period comes to now. Nothing for a plain per-unit line."""
    calc = line.calculation or {}
    difference = calc.get("difference")
    if difference is None:
        return _calculation_rows(calc, currency)
    if pricing_detail(line, currency) is None:
        return []
    rows = [
        PricingRow(
            label, Decimal(difference[key]["quantity"]), None, Decimal(difference[key]["amount"])
        )
        for key, label in (("invoiced", "Invoiced before"), ("recomputed", "Recomputed"))
    ]
    for recomputed in calc.get("recomputed") or ():
        rows += _calculation_rows(recomputed or {}, currency, "Recomputed: ")
    return rows
