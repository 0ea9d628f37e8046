"""Reconciliation and margin rules (PRODUCT.md section 11), pure: reason order, averages
whose parts add up, vendor quantities, costs only within one currency."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.invoicing.assurance.margin import BilledSource, margins
from services.invoicing.assurance.reconciliation import (
    Share,
    average_shares,
    classify,
    reconcile,
)
from services.invoicing.assurance.vendor_bills import BillLine, VendorBill


@pytest.mark.parametrize(
    ("enabled", "status", "service", "covered", "share"),
    [
        (False, "excluded", False, False, Share.BILLING_DISABLED),
        (False, "mapped", True, True, Share.BILLING_DISABLED),
        (True, "excluded", False, False, Share.EXCLUDED_ORG),
        (True, "unmapped", False, False, Share.UNMAPPED_ORG),
        (True, "mapped", False, False, Share.UNMAPPED_METRIC),
        (True, "mapped", True, False, Share.NO_CONTRACT),
        (True, "mapped", True, True, Share.BILLED),
    ],
)
def test_the_first_reason_that_applies(
    enabled: bool, status: str, service: bool, covered: bool, share: Share
) -> None:
    assert (
        classify(billing_enabled=enabled, status=status, has_service=service, covered=covered)
        is share
    )


def test_reasons_in_the_order_of_the_specification() -> None:
    assert [s.key for s in Share] == [
        "billed",
        "billing_disabled",
        "excluded_org",
        "unmapped_org",
        "unmapped_metric",
        "no_contract",
    ]


def test_averages_are_rounded_half_up() -> None:
    total, parts = average_shares({Share.BILLED: D("0.0015")}, 10)  # 0.00015
    assert (total, parts[Share.BILLED]) == (D("0.0002"), D("0.0002"))


def test_thirds_add_up_by_largest_remainder() -> None:
    sums = {Share.BILLED: D(10), Share.UNMAPPED_ORG: D(10), Share.NO_CONTRACT: D(10)}
    total, parts = average_shares(sums, 30)
    assert total == D("1.0000")
    assert [parts[s] for s in (Share.BILLED, Share.UNMAPPED_ORG, Share.NO_CONTRACT)] == [
        D("0.3334"),
        D("0.3333"),
        D("0.3333"),
    ]


@given(
    st.dictionaries(
        st.sampled_from(list(Share)),
        st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False),
    ),
    st.sampled_from([28, 29, 30, 31]),
)
def test_parts_always_add_up_to_the_rounded_total(sums: dict[Share, D], days: int) -> None:
    total, parts = average_shares(sums, days)
    exact = sum(sums.values(), D(0)) / days
    assert sum(parts.values()) == total
    assert abs(total - exact) <= D("0.00005")
    for share, part in parts.items():
        assert abs(part - sums.get(share, D(0)) / days) < D("0.0001")


def test_rows_for_usage_and_for_vendor_lines() -> None:
    rows = reconcile(
        {("rmm", "servers"): {Share.BILLED: D(300), Share.NO_CONTRACT: D(30)}},
        {("rmm", "desktops"): D(4)},
        {"rmm"},
        30,
    )
    assert [(r.metric, r.vendor_quantity, r.usage_quantity, r.difference) for r in rows] == [
        ("desktops", D(4), D("0.0000"), D("4.0000")),
        ("servers", D(0), D("11.0000"), D("-11.0000")),
    ]
    assert rows[1].billed_quantity == D(10)
    assert rows[1].unbilled["no_contract"] == D(1)
    assert reconcile({("edr", "x"): {Share.BILLED: D(1)}}, {}, set(), 1)[0].difference is None


def _bill(currency: str, cost: str, module: str = "rmm") -> VendorBill:
    return VendorBill(module, "2026-10", currency, (BillLine("servers", D(99), D(cost)),))


def test_cost_only_within_the_bill_currency() -> None:
    rows: list[BilledSource] = [
        ("l1", "a", "USD", "SRV", D("40.00"), "rmm", "servers", D(10)),
        ("l2", "a", "EUR", "SRV", D("30.00"), "rmm", "servers", D(10)),
    ]
    companies, totals = margins(rows, [_bill("EUR", "1.255")])
    eur, usd = companies
    assert (eur.revenue, eur.cost, eur.margin) == (D("30.00"), D("12.55"), D("17.45"))
    assert (usd.cost, usd.uncosted[0].vendor_currency) == (D(0), "EUR")
    assert [(t.currency, t.margin) for t in totals] == [("EUR", D("17.45")), ("USD", D("40.00"))]


def test_corrections_add_up_and_a_unit_feeding_two_services_is_paid_once() -> None:
    rows: list[BilledSource] = [
        ("l1", "a", "EUR", "RMM", D("20.00"), "rmm", "servers", D(10)),
        ("l2", "a", "EUR", "PATCH", D("5.00"), "rmm", "servers", D(10)),
        ("l3", "a", "EUR", "RMM", D("-2.00"), "rmm", "servers", D(-1)),
    ]
    [company], _ = margins(rows, [_bill("EUR", "1")])
    services = {s.service_code: (s.revenue, s.cost) for s in company.services}
    assert services == {"PATCH": (D("5.00"), D("10")), "RMM": (D("18.00"), D(0))}
    assert company.cost == D(10)


def test_a_line_with_several_sources_counts_its_amount_once() -> None:
    rows: list[BilledSource] = [
        ("l1", "a", "EUR", "RMM", D("18.00"), "rmm", "servers", D(10)),
        ("l1", "a", "EUR", "RMM", D("18.00"), "rmm", "workstations", D(4)),
        ("l2", "a", "EUR", "PATCH", D("5.00"), None, None, None),
    ]
    lines = (BillLine("servers", D(99), D(1)), BillLine("workstations", D(9), D("0.5")))
    [company], _ = margins(rows, [VendorBill("rmm", "2026-10", "EUR", lines)])
    services = {s.service_code: (s.revenue, s.cost) for s in company.services}
    assert services == {"PATCH": (D("5.00"), D(0)), "RMM": (D("18.00"), D("12.00"))}
    assert (company.revenue, company.cost) == (D("23.00"), D("12.00"))
