"""The invoice's tax spread over its lines, for accounting imports that book per line.

Each line's share is its amount times the tax rate, rounded half-up to the currency's
minor unit; what rounding leaves over (the invoice's tax is computed once on the subtotal)
goes to the line with the largest absolute amount, the first of them on a tie. The shares
always add up to the invoice's tax exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from services.invoicing.billing import spread
from shared.money import exact_context, minor_units


def tax_shares(
    amounts: Sequence[Decimal], tax: Decimal, tax_rate: Decimal, currency: str
) -> list[Decimal]:
    with exact_context():
        exact = [amount * tax_rate for amount in amounts]
    return spread(tax, exact, 1, minor_units(currency))
