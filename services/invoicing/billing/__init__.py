"""Billing semantics (product spec section 4): pure domain code, exact decimals, no I/O.

- :mod:`shared.money`: currencies, minor units, half-up rounding (shared with mapping)
- :mod:`.pricing`: price functions per_unit, graduated, volume and their validation
- :mod:`.series`: missing days carried forward (at most 3) and marked estimated
- :mod:`.lines`: one line per contract service (segment of constant terms) and counting basis
- :mod:`.detail`: how a line's amount came about; whether quantity x unit price shows it
- :mod:`.drafts`: one draft per company, period and currency, contract versions as segments
"""

from __future__ import annotations

from shared.money import (
    MINOR_UNITS,
    UnknownCurrency,
    divide_round,
    minor_units,
    round_money,
    round_quantity,
)

from .detail import (
    Calculation,
    ExcludedReason,
    TierUse,
    accounting_terms,
    multiplies_out,
    spread,
)
from .drafts import (
    Contract,
    ContractVersion,
    InvoiceDraft,
    Usage,
    active_days,
    compute_invoices,
    parse_period,
)
from .lines import (
    CountingBasis,
    DayPoint,
    Line,
    ServiceTerms,
    Source,
    SourceDaily,
    SourceQuantity,
    compute_line,
)
from .pricing import InvalidPricing, Pricing, PricingModel, Tier, price, pricing_errors
from .series import MAX_CARRIED_DAYS, DailyValue, DaySeries, fill_missing_days

__all__ = [
    "MAX_CARRIED_DAYS",
    "MINOR_UNITS",
    "Calculation",
    "Contract",
    "ContractVersion",
    "CountingBasis",
    "DailyValue",
    "DayPoint",
    "DaySeries",
    "ExcludedReason",
    "InvalidPricing",
    "InvoiceDraft",
    "Line",
    "Pricing",
    "PricingModel",
    "ServiceTerms",
    "Source",
    "SourceDaily",
    "SourceQuantity",
    "Tier",
    "TierUse",
    "UnknownCurrency",
    "Usage",
    "accounting_terms",
    "active_days",
    "compute_invoices",
    "compute_line",
    "divide_round",
    "fill_missing_days",
    "minor_units",
    "multiplies_out",
    "parse_period",
    "price",
    "pricing_errors",
    "round_money",
    "round_quantity",
    "spread",
]
