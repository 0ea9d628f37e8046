"""Currencies, minor units and the one way amounts and quantities are rounded.

Every computation of the billing package runs inside :func:`exact_context`: 60 significant
digits and the ``Inexact`` trap set, so an addition or multiplication that would lose a digit
raises instead of rounding silently. Divisions (by the days of a month, by a quantity) are
the only inexact steps; :func:`divide_round` does them exactly on integers and rounds once.
"""

from __future__ import annotations

import decimal
from contextlib import AbstractContextManager
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "MINOR_UNITS",
    "QUANTITY_PLACES",
    "UnknownCurrency",
    "divide_round",
    "exact_context",
    "minor_units",
    "round_money",
    "round_quantity",
]

QUANTITY_PLACES = 4
"""Shown quantities and effective unit prices carry 4 fractional digits."""

_PRECISION = 60

# ISO 4217 minor units (number of digits after the decimal point).
MINOR_UNITS: dict[str, int] = {
    # 0 digits
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    # 3 digits
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 2 digits
    "AED": 2, "ARS": 2, "AUD": 2, "BGN": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2,
    "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "KES": 2, "MAD": 2, "MXN": 2, "MYR": 2, "NGN": 2,
    "NOK": 2, "NZD": 2, "PEN": 2, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RON": 2,
    "RSD": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TRY": 2, "TWD": 2, "UAH": 2,
    "USD": 2, "ZAR": 2,
}  # fmt: skip


class UnknownCurrency(ValueError):
    """The currency code is not in the ISO 4217 table of :data:`MINOR_UNITS`."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency {code!r}")
        self.code = code


def _exact() -> decimal.Context:
    return decimal.Context(
        prec=_PRECISION,
        rounding=ROUND_HALF_UP,
        traps=[
            decimal.InvalidOperation,
            decimal.DivisionByZero,
            decimal.Overflow,
            decimal.Inexact,
        ],
    )


def _rounding() -> decimal.Context:
    # Same precision, but quantize may drop digits: that is its purpose.
    return decimal.Context(
        prec=_PRECISION,
        rounding=ROUND_HALF_UP,
        traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
    )


_EXACT = _exact()
_ROUNDING = _rounding()  # used as is: only its sticky flags change, never a result


def exact_context() -> AbstractContextManager[decimal.Context]:
    """Local decimal context in which sums and products are exact or raise ``Inexact``."""
    return decimal.localcontext(_EXACT)  # a copy of it: flags stay local


def minor_units(code: str) -> int:
    """Digits after the decimal point of the currency ``code`` (case-insensitive)."""
    try:
        return MINOR_UNITS[code.upper()]
    except (KeyError, AttributeError):
        raise UnknownCurrency(code) from None


_QUANTA = {places: Decimal((0, (1,), -places)) for places in range(QUANTITY_PLACES + 1)}
"""Quanta made once: of the minor units (0 to 3 digits) and of quantities (4 digits)."""


def _quantum(places: int) -> Decimal:
    found = _QUANTA.get(places)
    return Decimal((0, (1,), -places)) if found is None else found


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``currency`` (JPY 1234.5 -> 1235)."""
    places = minor_units(currency)
    return amount.quantize(_quantum(places), rounding=ROUND_HALF_UP, context=_ROUNDING)


def round_quantity(q: Decimal) -> Decimal:
    """``q`` rounded half-up to 4 fractional digits."""
    return q.quantize(_quantum(QUANTITY_PLACES), rounding=ROUND_HALF_UP, context=_ROUNDING)


def divide_round(numerator: Decimal, denominator: Decimal | int, places: int) -> Decimal:
    """``numerator / denominator`` rounded half-up (ties away from zero) to ``places`` digits.

    Exact: the quotient is never approximated before the single rounding, so a value lying
    exactly on a half (``x.xx5``) always rounds up.
    """
    num_n, num_d = numerator.as_integer_ratio()
    if isinstance(denominator, int):
        den_n, den_d = denominator, 1
    else:
        den_n, den_d = denominator.as_integer_ratio()
    if den_n == 0:
        raise ZeroDivisionError("divide_round by zero")
    top = num_n * den_d * 10**places
    bottom = num_d * den_n
    if bottom < 0:
        top, bottom = -top, -bottom
    sign = -1 if top < 0 else 1
    whole, rest = divmod(abs(top), bottom)
    if 2 * rest >= bottom:
        whole += 1
    return Decimal(sign * whole).scaleb(-places, _ROUNDING)
