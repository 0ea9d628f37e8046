"""The billing math through the API, end to end: contract, usage, billing run, invoice.

Every expected figure is computed by hand from PRODUCT.md section 4 in the docstrings. The
daily series used most: 5 units on days 1-10, 30 on days 11-20, 12 on days 21-30 of a
30-day month (sum 470, peak 30, last 12). Tiers: up to 10 at 3.00, up to 20 at 2.00, then
1.00, so P(5), P(12), P(30) are 15, 34, 60 graduated and 15, 24, 30 volume."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest

from shared import workers
from tests.api.test_invoicing_support import (
    InvoicingApi,
    day,
    embedded_with,
    latest_month,
    lines_of,
    ok,
    service,
    steps,
)

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi, EmbeddedApiFactory

TIERS = (("10", "3.00"), ("20", "2.00"), (None, "1.00"))
PERIOD = latest_month(30)
SERIES = steps((10, 5), (10, 30), (10, 12))
MODULE, METRIC = "datto_edr", "endpoints"


@pytest.fixture
def billing(embedded_api: EmbeddedApi) -> InvoicingApi:
    return InvoicingApi(embedded_api)


async def _matrix_company(billing: InvoicingApi, codes: list[str], **company: str) -> str:
    company_id = await billing.company(**company)
    await billing.feed(MODULE, METRIC, *codes)
    await billing.usage(company_id, MODULE, METRIC, day(PERIOD, 1), SERIES)
    return company_id


async def test_every_pricing_model_with_every_counting_basis(billing: InvoicingApi) -> None:
    """daily: amount = sum P(q_d) / 30, quantity 470 / 30 = 15.6667
    - per_unit 2.50: (10x12.5 + 10x75 + 10x30) / 30 = 1175 / 30 = 39.1666.. -> 39.17
    - graduated: (10x15 + 10x60 + 10x34) / 30 = 1090 / 30 = 36.333.. -> 36.33
    - volume: (10x15 + 10x30 + 10x24) / 30 = 690 / 30 = 23.00
    monthly_peak (Q = 30, |A| / D = 1): per_unit 75.00, graduated 60.00, volume 30.00
    monthly_last (Q = 12): per_unit 30.00, graduated 34.00, volume 24.00
    per_unit 2.50 daily with minimum_units 10: q' = 10, 30, 12 -> 520 / 30 = 17.3333,
    amount 520 x 2.50 / 30 = 43.333.. -> 43.33
    subtotal 394.83, tax 19 %: 75.0177 -> 75.02, total 469.85"""
    services = [
        service(
            f"{model}-{basis}",
            "2.50" if model == "per_unit" else None,
            model=model,
            tiers=() if model == "per_unit" else TIERS,
            basis=basis,
        )
        for model in ("per_unit", "graduated", "volume")
        for basis in ("daily", "monthly_peak", "monthly_last")
    ] + [service("per_unit-minimum", "2.50", minimum="10")]
    codes = [s["service_code"] for s in services]
    company = await _matrix_company(billing, codes, tax_rate="0.19")
    await billing.contract(company, services, start=day(PERIOD, 1).replace(year=2020))

    run = await billing.run(PERIOD)

    assert (run["invoices"], run["corrections"], run["created"]) == (1, 0, 1)
    invoice = await billing.invoice_of(company, PERIOD)
    assert lines_of(invoice) == {
        "per_unit-daily": ("15.6667", "39.17"),
        "graduated-daily": ("15.6667", "36.33"),
        "volume-daily": ("15.6667", "23.00"),
        "per_unit-monthly_peak": ("30.0000", "75.00"),
        "graduated-monthly_peak": ("30.0000", "60.00"),
        "volume-monthly_peak": ("30.0000", "30.00"),
        "per_unit-monthly_last": ("12.0000", "30.00"),
        "graduated-monthly_last": ("12.0000", "34.00"),
        "volume-monthly_last": ("12.0000", "24.00"),
        "per_unit-minimum": ("17.3333", "43.33"),
    }
    assert (invoice["subtotal"], invoice["tax_rate"], invoice["tax"], invoice["total"]) == (
        "394.83",
        "0.19",
        "75.02",
        "469.85",
    )
    assert invoice["balance"] == invoice["total"] and invoice["status"] == "draft"
    by_code = {line["service_code"]: line for line in invoice["lines"]}
    # Tiered lines show the effective price amount / quantity: 36.33 / 15.6667 = 2.3189..
    assert by_code["graduated-daily"]["unit_price"] == "2.3189"
    assert by_code["per_unit-daily"]["unit_price"] == "2.50"
    assert by_code["volume-monthly_peak"]["sources"] == [
        {"module": MODULE, "metric": METRIC, "quantity": "30.0000"}
    ]


async def test_a_contract_starting_on_the_15th(billing: InvoicingApi) -> None:
    """Active days 15..30 (16 of 30): 6 days of 30 units and 10 days of 12.
    - daily per_unit 2.50: (180 + 120) x 2.50 / 30 = 25.00, quantity 300 / 30 = 10.0000
    - monthly_peak per_unit 2.50: P(30) x 16 / 30 = 75 x 16 / 30 = 40.00
    - monthly_last graduated: P(12) x 16 / 30 = 34 x 16 / 30 = 18.1333.. -> 18.13"""
    services = [
        service("DAILY", "2.50"),
        service("PEAK", "2.50", basis="monthly_peak"),
        service("LAST", None, model="graduated", tiers=TIERS, basis="monthly_last"),
    ]
    company = await _matrix_company(billing, ["DAILY", "PEAK", "LAST"])
    await billing.contract(company, services, start=day(PERIOD, 15))

    await billing.run(PERIOD)

    invoice = await billing.invoice_of(company, PERIOD)
    assert lines_of(invoice) == {
        "DAILY": ("10.0000", "25.00"),
        "PEAK": ("30.0000", "40.00"),
        "LAST": ("12.0000", "18.13"),
    }
    assert invoice["total"] == "83.13"


async def test_contracts_ending_and_starting_mid_month_share_a_service(
    billing: InvoicingApi,
) -> None:
    """The old contract ends on the 10th (5 units x 10 days), the new one starts on the 11th
    at another price: 50 x 2.00 / 30 = 3.33 and 420 x 3.00 / 30 = 42.00, on one invoice."""
    company = await _matrix_company(billing, ["SVC"])
    await billing.contract(
        company, [service("SVC", "2.00")], start=day(PERIOD, 1), end=day(PERIOD, 10)
    )
    await billing.contract(company, [service("SVC", "3.00")], start=day(PERIOD, 11))

    run = await billing.run(PERIOD)

    assert run["invoices"] == 1
    invoice = await billing.invoice_of(company, PERIOD)
    assert sorted((line["quantity"], line["amount"]) for line in invoice["lines"]) == [
        ("1.6667", "3.33"),
        ("14.0000", "42.00"),
    ]
    assert invoice["subtotal"] == "45.33"


async def test_jpy_has_no_decimals(billing: InvoicingApi) -> None:
    """137 JPY per unit and day from the 15th: 300 units-days x 137 / 30 = 1370.00 -> 1370;
    monthly_peak 99 JPY: 30 x 99 x 16 / 30 = 1584; tax 10 %: 295.4 -> 295, total 3249."""
    company = await _matrix_company(billing, ["YEN", "YEN-PEAK"], tax_rate="0.1", currency="JPY")
    await billing.contract(
        company,
        [service("YEN", "137"), service("YEN-PEAK", "99", basis="monthly_peak")],
        start=day(PERIOD, 15),
        currency="JPY",
    )

    await billing.run(PERIOD)

    invoice = await billing.invoice_of(company, PERIOD)
    assert invoice["currency"] == "JPY"
    assert lines_of(invoice) == {"YEN": ("10.0000", "1370"), "YEN-PEAK": ("30.0000", "1584")}
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("2954", "295", "3249")
    assert {line["unit_price"] for line in invoice["lines"]} == {"137", "99"}


async def test_tax_rounds_half_up_to_the_cent(billing: InvoicingApi) -> None:
    """3 units x 0.35 for the whole month: 1.05; tax 5 %: 0.0525 -> 0.05; at 7.5 %:
    0.07875 -> 0.08 (the second company)."""
    for rate, tax in (("0.05", "0.05"), ("0.075", "0.08")):
        company = await billing.company(f"Tax {rate}", tax_rate=rate)
        await billing.feed(MODULE, METRIC, "TAXED")
        await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((30, 3)))
        await billing.contract(company, [service("TAXED", "0.35")], start=day(PERIOD, 1))
        await billing.run(PERIOD)
        invoice = await billing.invoice_of(company, PERIOD)
        assert (invoice["subtotal"], invoice["tax"]) == ("1.05", tax), rate


@pytest.mark.parametrize("days", [28, 29, 30, 31])
async def test_months_of_28_to_31_days(days: int, make_embedded_api: EmbeddedApiFactory) -> None:
    """A contract from the 11th, 6 units every day at 5.00, daily and monthly_peak:
    amount = 6 x 5.00 x (D - 10) / D, quantity 6 x (D - 10) / D (daily) or 6 (peak).
    D=28: 18/28 -> 19.29 / 3.8571; D=29: 19/29 -> 19.66 / 3.9310;
    D=30: 20.00 / 4.0000; D=31: 21/31 -> 20.32 / 4.0645."""
    expected = {
        28: ("3.8571", "19.29"),
        29: ("3.9310", "19.66"),
        30: ("4.0000", "20.00"),
        31: ("4.0645", "20.32"),
    }[days]
    period = latest_month(days)
    # Usage up to 10 years old: the latest leap February may be long ago.
    async with embedded_with(make_embedded_api, usage_max_age_days=3660) as billing:
        company = await billing.company()
        await billing.feed(MODULE, METRIC, "D", "P")
        await billing.usage(company, MODULE, METRIC, day(period, 1), steps((days, 6)))
        await billing.contract(
            company,
            [service("D", "5.00"), service("P", "5.00", basis="monthly_peak")],
            start=day(period, 11),
        )
        await billing.run(period)
        invoice = await billing.invoice_of(company, period)
    assert lines_of(invoice) == {"D": expected, "P": ("6.0000", expected[1])}


async def test_a_company_with_a_contract_and_no_usage_gets_an_invoice_of_0(
    billing: InvoicingApi,
) -> None:
    company = await billing.company()
    await billing.contract(company, [service("NOTHING", "9.99")], start=day(PERIOD, 1))

    run = await billing.run(PERIOD)

    assert run["invoices"] == 1
    invoice = await billing.invoice_of(company, PERIOD)
    assert (invoice["lines"], invoice["total"]) == ([], "0.00")


async def test_a_missing_day_is_estimated_and_explained(billing: InvoicingApi) -> None:
    """The module sends nothing on day 6: day 6 carries day 5's 8 units, marked estimated."""
    company = await billing.company()
    await billing.feed(MODULE, METRIC, "EST")
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 1), steps((5, 8)))
    await billing.usage(company, MODULE, METRIC, day(PERIOD, 7), steps((24, 8)))
    await billing.contract(company, [service("EST", "1.50")], start=day(PERIOD, 1))
    await billing.run(PERIOD)
    invoice = await billing.invoice_of(company, PERIOD)
    [line] = invoice["lines"]
    assert (line["quantity"], line["amount"]) == ("8.0000", "12.00")

    explained = ok(
        await billing.client.get(f"/v1/invoices/{invoice['id']}/lines/{line['id']}/explain")
    )

    [source] = explained["sources"]
    assert (source["module"], source["metric"]) == (MODULE, METRIC)
    assert len(source["days"]) == 30
    estimated = [d for d in source["days"] if d["estimated"]]
    sixth = {"date": day(PERIOD, 6).isoformat(), "quantity": "8.0000", "estimated": True}
    assert estimated == [{**sixth, "reason": None}]
    missing = ok(await billing.client.get(f"/v1/invoices/{invoice['id']}/lines/nope/explain"), 404)
    assert missing["status"] == 404


async def test_worker_processes_bill_the_same_as_the_service_itself(
    billing: InvoicingApi,
    make_embedded_api: EmbeddedApiFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-company billing runs in worker processes for large runs; forced here from the
    first company, the invoices are the same as billed in the service's own process."""

    async def invoices(api: InvoicingApi) -> list[dict[str, object]]:
        for i, rate in enumerate(("0.19", "0.2", "0")):
            services = [
                service("per_unit", "2.50"),
                service("peak", None, model="graduated", tiers=TIERS, basis="monthly_peak"),
            ]
            company = await api.company(f"Company {i}", tax_rate=rate)
            await api.feed(MODULE, METRIC, "per_unit", "peak")
            await api.usage(company, MODULE, METRIC, day(PERIOD, 1 + i), SERIES[i:])
            await api.contract(company, services, start=day(PERIOD, 1 + 3 * i))
        await api.contract(await api.company("No usage"), [service("X", "1")], start=day(PERIOD, 1))
        run = await api.run(PERIOD)
        assert run["invoices"] == 4
        shown = [await api.invoice(d["id"]) for d in await api.documents(PERIOD)]
        return sorted(
            (
                {k: v for k, v in i.items() if k in ("subtotal", "tax", "total")}
                | {"lines": lines_of(i)}
                for i in shown
            ),
            key=str,
        )

    pools: list[int] = []
    submitted: list[object] = []

    class CountedPool(ProcessPoolExecutor):
        def __init__(self, size: int, **options: Any) -> None:
            pools.append(size)
            super().__init__(size, **options)

        def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
            submitted.append(fn)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", CountedPool)
    async with embedded_with(
        make_embedded_api, billing_workers=2, billing_parallel_companies=2
    ) as parallel:
        in_workers = await invoices(parallel)
    assert pools == [2]
    assert submitted, "the run billed in the runtime's worker processes"
    billed_in_workers = len(submitted)
    assert in_workers == await invoices(billing)
    assert (pools, len(submitted)) == ([2], billed_in_workers)
