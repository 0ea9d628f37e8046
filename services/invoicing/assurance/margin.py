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

BilledSource = tuple[str | None, str, str, str, Decimal, str | None, str | None, Decimal | None]
"""``(line_id, company_id, currency, service_code, amount, module, metric, quantity)``: one
source of a line of the period's documents that are not void (invoices and corrections);
a line with several sources comes once per source (with its id, so that its amount counts
once; ``line_id`` None: a line with one source), one without sources once with ``module``
None."""
ZERO = Decimal(0)


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


def _paid_with(by_service: dict[str, Decimal]) -> tuple[str, Decimal]:
    """A unit feeding several services is paid to the vendor once: its cost goes with the
    service that bills most of it (ties: the first service code)."""
    if len(by_service) == 1:
        return next(iter(by_service.items()))
    return max(sorted(by_service.items()), key=lambda item: item[1])


def margins(
    rows: Iterable[BilledSource], bills: Iterable[VendorBill]
) -> tuple[list[CompanyMargin], list[CurrencyTotal]]:
    """Per company and currency (by company, then currency), and the totals per currency."""
    bills = list(bills)
    costs = unit_costs(bills)
    bill_currency = {b.module: b.currency for b in bills}
    companies: dict[tuple[str, str], CompanyMargin] = {}
    services: dict[tuple[str, str, str], ServiceMargin] = {}
    quantities: dict[tuple[str, str, str, str], dict[str, Decimal]] = {}
    counted: set[str] = set()
    for line_id, company_id, currency, code, amount, module, metric, quantity in rows:
        key = (company_id, currency, code)
        service = services.get(key)
        if service is None:
            service = services[key] = ServiceMargin(code)
            company = companies.get((company_id, currency))
            if company is None:
                company = companies[(company_id, currency)] = CompanyMargin(
                    company_id, currency, []
                )
            company.services.append(service)
        if line_id is None or line_id not in counted:
            if line_id is not None:
                counted.add(line_id)
            service.revenue += amount
        if module is not None and metric is not None and quantity is not None:
            metric_key = (company_id, currency, module, metric)
            by_service = quantities.get(metric_key)
            if by_service is None:
                quantities[metric_key] = {code: quantity}
            else:
                by_service[code] = by_service.get(code, ZERO) + quantity
    exact: dict[tuple[str, str, str], Decimal] = {}
    for (company_id, currency, module, metric), by_service in quantities.items():
        code, quantity = _paid_with(by_service)
        cost = costs.get((module, metric))
        if cost is not None and cost[0] == currency:
            key = (company_id, currency, code)
            exact[key] = exact.get(key, ZERO) + quantity * cost[1]
        elif quantity:
            uncosted = Uncosted(module, metric, quantity, bill_currency.get(module))
            companies[(company_id, currency)].uncosted.append(uncosted)
    for key, amount in exact.items():
        services[key].cost = round_money(amount, key[1])
    ordered = [companies[k] for k in sorted(companies)]
    totals: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for company in ordered:
        company.services.sort(key=lambda s: s.service_code)
        company.uncosted.sort(key=lambda u: (u.module, u.metric))
        total = totals[company.currency]
        total[0] += company.revenue
        total[1] += company.cost
    return ordered, [CurrencyTotal(cur, r, c) for cur, (r, c) in sorted(totals.items())]
