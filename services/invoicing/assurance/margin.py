"""The margin per company and currency (PRODUCT.md section 11), pure: revenue from the
period's documents, cost from the vendor bills of the same currency. No exchange rates:
usage billed in a currency no vendor bill of its module is in stays uncosted and is listed
apart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from services.invoicing.assurance.vendor_bills import VendorBill
from shared.money import round_money


@dataclass(frozen=True)
class BilledLine:
    """A line of a document of the period (invoice or correction, not void)."""

    company_id: str
    currency: str
    service_code: str
    amount: Decimal
    sources: tuple[tuple[str, str, Decimal], ...]
    """``(module, metric, quantity)``: the line's quantity per source"""


@dataclass
class ServiceMargin:
    service_code: str
    revenue: Decimal = Decimal(0)
    cost: Decimal = Decimal(0)

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


@dataclass(frozen=True)
class Uncosted:
    module: str
    metric: str
    quantity: Decimal
    vendor_currency: str | None
    """the currency of the module's vendor bill, if there is one in another currency"""


@dataclass
class CompanyMargin:
    company_id: str
    currency: str
    services: list[ServiceMargin]
    uncosted: list[Uncosted] = field(default_factory=list)

    @property
    def revenue(self) -> Decimal:
        return sum((s.revenue for s in self.services), Decimal(0))

    @property
    def cost(self) -> Decimal:
        return sum((s.cost for s in self.services), Decimal(0))

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    revenue: Decimal
    cost: Decimal

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost


Costs = Mapping[tuple[str, str], tuple[str, Decimal]]
"""``(module, metric)`` -> ``(currency, unit_cost)`` of the period's vendor bills"""


def unit_costs(bills: Iterable[VendorBill]) -> dict[tuple[str, str], tuple[str, Decimal]]:
    return {(b.module, x.metric): (b.currency, x.unit_cost) for b in bills for x in b.lines}


def _company(
    company_id: str,
    currency: str,
    lines: list[BilledLine],
    costs: Costs,
    bill_currency: Mapping[str, str],
) -> CompanyMargin:
    services: dict[str, ServiceMargin] = {}
    quantities: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(Decimal)
    )
    for line in lines:
        service = services.setdefault(line.service_code, ServiceMargin(line.service_code))
        service.revenue += line.amount
        for module, metric, quantity in line.sources:
            quantities[(module, metric)][line.service_code] += quantity
    exact_cost: dict[str, Decimal] = defaultdict(Decimal)
    uncosted = []
    for (module, metric), by_service in sorted(quantities.items()):
        # A unit feeding several services is paid to the vendor once: its cost goes with
        # the service that bills most of it.
        code, quantity = max(sorted(by_service.items()), key=lambda item: item[1])
        cost = costs.get((module, metric))
        if cost is not None and cost[0] == currency:
            exact_cost[code] += quantity * cost[1]
        elif quantity:
            uncosted.append(Uncosted(module, metric, quantity, bill_currency.get(module)))
    for code, amount in exact_cost.items():
        services[code].cost = round_money(amount, currency)
    return CompanyMargin(
        company_id, currency, sorted(services.values(), key=lambda s: s.service_code), uncosted
    )


def margins(
    lines: Iterable[BilledLine], bills: Iterable[VendorBill]
) -> tuple[list[CompanyMargin], list[CurrencyTotal]]:
    """Per company and currency (by company, then currency), and the totals per currency."""
    bills = list(bills)
    costs = unit_costs(bills)
    bill_currency = {b.module: b.currency for b in bills}
    grouped: dict[tuple[str, str], list[BilledLine]] = defaultdict(list)
    for line in lines:
        grouped[(line.company_id, line.currency)].append(line)
    companies = [
        _company(company_id, currency, grouped[(company_id, currency)], costs, bill_currency)
        for company_id, currency in sorted(grouped)
    ]
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for company in companies:
        total = totals[company.currency]
        total[0] += company.revenue
        total[1] += company.cost
    return companies, [CurrencyTotal(cur, r, c) for cur, (r, c) in sorted(totals.items())]
