from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice

import pytest

from shared.catalog import CATALOG, fraction_digits, load_catalog, quantity_errors
from tools.sample import SampleMsp, SampleRecord, as_usage_json, generate, summary
from tools.sample.names import fold

OCT = dt.date(2026, 10, 1)


def day(n: int) -> dt.date:
    return OCT + dt.timedelta(days=n - 1)


@pytest.fixture(scope="module")
def msp() -> SampleMsp:
    return generate()


@pytest.fixture(scope="module")
def records(msp: SampleMsp) -> list[SampleRecord]:
    return list(msp.records())


def test_same_seed_same_everything(msp: SampleMsp, records: list[SampleRecord]) -> None:
    again = generate()
    assert again.companies == msp.companies
    assert again.orgs == msp.orgs
    assert list(again.records()) == records
    assert again.price_list() == msp.price_list()


def test_different_seed_differs(msp: SampleMsp, records: list[SampleRecord]) -> None:
    other = generate(seed=8)
    assert [c.name for c in other.companies] != [c.name for c in msp.companies]
    assert list(islice(other.records(), 500)) != records[:500]


def test_records_stream(msp: SampleMsp) -> None:
    stream = msp.records()
    assert isinstance(stream, Iterator)
    first = next(stream)
    assert isinstance(first, SampleRecord)
    assert first.date == OCT


def test_companies(msp: SampleMsp) -> None:
    assert len(msp.companies) == 40
    assert [c.external_ref for c in msp.companies][:2] == ["CUST-0001", "CUST-0002"]
    assert len({c.key for c in msp.companies}) == 40
    assert len({fold(c.name) for c in msp.companies}) == 40
    for c in msp.companies:
        assert re.fullmatch(r"CUST-\d{4}", c.external_ref)
        assert isinstance(c.tax_rate, Decimal) and Decimal(0) <= c.tax_rate < 1
        assert re.fullmatch(r"[A-Z]{3}", c.currency)
        assert msp.company(c.key) is c
    currencies = Counter(c.currency for c in msp.companies)
    assert sum(currencies[x] for x in ("EUR", "USD", "GBP")) > 30


def test_similar_named_distinct_companies_exist(msp: SampleMsp) -> None:
    first_words = Counter(c.name.split()[0].rstrip(",") for c in msp.companies)
    assert first_words["Contoso"] >= 2
    assert sum(1 for n in first_words.values() if n > 1) >= 2


def test_company_names_unique_at_scale() -> None:
    big = generate(seed=3, companies=3000)
    assert len({fold(c.name) for c in big.companies}) == 3000
    assert big.companies[-1].external_ref == "CUST-3000"


def test_every_module_used_and_every_company_uses_three(msp: SampleMsp) -> None:
    assert {o.module for o in msp.orgs if o.company_key} == set(CATALOG.module_ids)
    per_company: defaultdict[str, set[str]] = defaultdict(set)
    for o in msp.orgs:
        if o.company_key is not None:
            per_company[o.company_key].add(o.module)
    assert set(per_company) == {c.key for c in msp.companies}
    assert all(len(modules) >= 3 for modules in per_company.values())


def test_a_single_company_uses_every_module() -> None:
    tiny = generate(companies=1)
    assert {o.module for o in tiny.orgs if o.company_key} == set(CATALOG.module_ids)


def test_truth_labels_are_consistent(msp: SampleMsp) -> None:
    keys = {c.key for c in msp.companies}
    assert len({(o.module, o.org_id) for o in msp.orgs}) == len(msp.orgs)
    assert all(o.company_key is None or o.company_key in keys for o in msp.orgs)
    noise = [o for o in msp.orgs if o.company_key is None]
    assert len(noise) >= 3
    assert any(o.org_name in ("Test Org", "MSP Internal", "Sandbox") for o in noise)
    # Records only come from known orgs, under the name the org has on that day.
    orgs = {(o.module, o.org_id): o for o in msp.orgs}
    for r in islice(msp.records(), 0, None, 7):
        org = orgs[(r.module, r.org_id)]
        assert r.org_name == org.name_on(r.date)
        assert org.active_on(r.date)


def test_org_names_differ_from_company_names(msp: SampleMsp) -> None:
    names = {c.key: c.name for c in msp.companies}
    mapped = [o for o in msp.orgs if o.company_key is not None]
    differ = [o for o in mapped if o.org_name != names[o.company_key or ""]]
    assert len(differ) > 0.6 * len(mapped)
    assert len(differ) < len(mapped)  # a few are spelt exactly alike
    spellings = " ".join(o.org_name for o in mapped)
    assert re.search(r"\b[a-z0-9]+-[a-z0-9-]+\b", spellings)  # slugs
    assert re.search(r"\b[A-Z]{4,} [A-Z]{2,}", spellings)  # upper case


def test_org_id_formats_depend_on_the_module(msp: SampleMsp) -> None:
    ids = defaultdict(list)
    for o in msp.orgs:
        ids[o.module].append(o.org_id)
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
    assert all(uuid.fullmatch(x) for x in ids["datto_rmm"])
    assert all(x.isdigit() for x in ids["vsa_10"])
    assert all(x.startswith("C0") for x in ids["spanning_google"])
    assert all(re.fullmatch(r"[a-z0-9-]+", x) for x in ids["cyber_hawk"])


def test_quantities_are_valid_for_the_catalog(records: list[SampleRecord]) -> None:
    for r in records:
        metric = CATALOG.metric(r.module, r.metric)
        assert metric is not None
        assert isinstance(r.quantity, Decimal)
        assert quantity_errors(metric, r.quantity) == [], r


def test_storage_is_fractional(records: list[SampleRecord]) -> None:
    storage = [r.quantity for r in records if r.metric == "storage_tb"]
    assert storage
    assert any(fraction_digits(q) > 0 for q in storage)
    assert all(fraction_digits(q) <= 4 for q in storage)


def test_every_metric_every_day(msp: SampleMsp, records: list[SampleRecord]) -> None:
    per_org_day = Counter((r.module, r.org_id, r.date) for r in records)
    for o in msp.orgs:
        module = CATALOG.module(o.module)
        assert module is not None
        for d in msp.days():
            expected = len(module.metrics) if o.active_on(d) else 0
            assert per_org_day[(o.module, o.org_id, d)] == expected
    assert len(records) == msp.record_count()


def test_rmm_total_is_the_sum_of_its_parts(records: list[SampleRecord]) -> None:
    by_key: defaultdict[tuple[str, dt.date], dict[str, Decimal]] = defaultdict(dict)
    for r in records:
        if r.module == "datto_rmm":
            by_key[(r.org_id, r.date)][r.metric] = r.quantity
    assert by_key
    for metrics in by_key.values():
        parts = metrics["desktops_laptops"] + metrics["servers"] + metrics["network_devices"]
        assert metrics["total_devices"] == parts
        assert metrics["servers"] <= metrics["desktops_laptops"] or metrics["servers"] < 3


def test_weekend_dips_and_slow_growth(records: list[SampleRecord]) -> None:
    series: defaultdict[tuple[str, str], dict[dt.date, Decimal]] = defaultdict(dict)
    for r in records:
        if r.metric in ("desktops_laptops", "endpoints", "devices"):
            series[(r.module, r.org_id)][r.date] = r.quantity
    dips = 0
    for s in series.values():
        weekdays = [q for d, q in s.items() if d.weekday() < 5]
        weekends = [q for d, q in s.items() if d.weekday() >= 5]
        if weekends and weekdays and max(weekends) < min(weekdays):
            dips += 1
    assert dips >= 3


def test_renames(msp: SampleMsp, records: list[SampleRecord]) -> None:
    renamed = [o for o in msp.orgs if o.renamed_to is not None]
    assert renamed
    names = {(r.module, r.org_id, r.date): r.org_name for r in records}
    checked = 0
    for org in renamed:
        assert org.renamed_on is not None and org.renamed_to != org.org_name
        for d in msp.days():
            name = names.get((org.module, org.org_id, d))
            if name is not None:
                assert name == (org.org_name if d < org.renamed_on else org.renamed_to)
                checked += 1
    assert checked


def test_churn_and_onboarding(msp: SampleMsp, records: list[SampleRecord]) -> None:
    stopped = [o for o in msp.orgs if o.last_day is not None]
    started = [o for o in msp.orgs if o.first_day is not None]
    assert stopped and started
    seen = {(r.module, r.org_id, r.date) for r in records}
    for o in stopped:
        assert o.last_day is not None
        assert (o.module, o.org_id, o.last_day) in seen
        assert (o.module, o.org_id, o.last_day + dt.timedelta(days=1)) not in seen
    for o in started:
        assert o.first_day is not None
        assert (o.module, o.org_id, o.first_day) in seen
        assert (o.module, o.org_id, o.first_day - dt.timedelta(days=1)) not in seen


def test_missing_days_are_honoured(records: list[SampleRecord]) -> None:
    missing = {"datto_rmm": {day(10), day(11)}, "graphus": [day(31)]}
    msp = generate(missing_days=missing)
    got = list(msp.records())
    assert not [r for r in got if r.module == "datto_rmm" and r.date in missing["datto_rmm"]]
    assert not [r for r in got if r.module == "graphus" and r.date == day(31)]
    assert any(r.module == "datto_rmm" and r.date == day(12) for r in got)
    # Everything else is exactly what the sample sends without missing days.
    expected = [
        r
        for r in records
        if not (r.module == "datto_rmm" and r.date in missing["datto_rmm"])
        and not (r.module == "graphus" and r.date == day(31))
    ]
    assert got == expected
    assert msp.record_count() == len(got)


def test_missing_days_of_an_unknown_module_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown module"):
        generate(missing_days={"nope": {OCT}})


def test_date_ranges(msp: SampleMsp, records: list[SampleRecord]) -> None:
    window = list(msp.records(day(5), day(6)))
    assert window == [r for r in records if day(5) <= r.date <= day(6)]
    before = list(msp.records(dt.date(2026, 9, 30), dt.date(2026, 9, 30)))
    assert before and all(r.date == dt.date(2026, 9, 30) for r in before)
    assert list(msp.records(day(6), day(5))) == []


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "26-10", "2026/10", ""])
def test_bad_periods_are_refused(period: str) -> None:
    with pytest.raises(ValueError, match="period"):
        generate(period=period)


def test_other_periods() -> None:
    feb = generate(period="2028-02", companies=5)
    assert feb.days_in_period == 29
    assert feb.period_end == dt.date(2028, 2, 29)
    assert {r.date for r in feb.records()} == set(feb.days())


def test_usage_json(records: list[SampleRecord]) -> None:
    storage = next(r for r in records if r.metric == "storage_tb")
    body = as_usage_json(storage)
    assert set(body) == {"module", "org_id", "org_name", "metric", "date", "quantity"}
    assert body["date"] == storage.date.isoformat()
    assert Decimal(body["quantity"]) == storage.quantity
    assert re.fullmatch(r"\d+(\.\d{1,4})?", body["quantity"])
    assert SampleMsp.as_usage_json(records[0])["quantity"] == str(records[0].quantity)


def test_summary(msp: SampleMsp, records: list[SampleRecord]) -> None:
    text = summary(msp)
    assert "companies: 40" in text
    assert f"module orgs: {len(msp.orgs)}" in text
    assert f"records in the period: {len(records)}" in text


def test_a_module_added_to_the_catalog_gets_usage() -> None:
    text = (
        '[[modules]]\nid = "rmm_x"\nname = "RMM X"\n'
        '[[modules.metrics]]\nid = "agents"\nunit = "device"\n'
        '[[modules]]\nid = "cloud_x"\nname = "Cloud X"\n'
        '[[modules.metrics]]\nid = "storage_gb"\nunit = "gb"\nfractional = true\n'
        '[[modules]]\nid = "mail_x"\nname = "Mail X"\n'
        '[[modules.metrics]]\nid = "mailboxes"\nunit = "mailbox"\n'
    )
    catalog = load_catalog(text)
    msp = generate(companies=3, catalog=catalog)
    assert {o.module for o in msp.orgs} == {"rmm_x", "cloud_x", "mail_x"}
    for r in msp.records():
        metric = catalog.metric(r.module, r.metric)
        assert metric is not None and quantity_errors(metric, r.quantity) == []
    codes = msp.service_mappings()
    assert set(codes) == set(catalog.metric_keys())


def test_scale_streams_a_month() -> None:
    big = generate(seed=11, companies=2000)
    assert len(big.companies) == 2000
    count = sum(1 for _ in big.records())
    assert count == big.record_count()
    assert count > 2000 * 5 * 31


def test_independent_of_hash_randomisation() -> None:
    script = (
        "import hashlib\n"
        "from tools.sample import generate\n"
        "m = generate(seed=5, companies=60)\n"
        "h = hashlib.sha256(repr((m.companies, m.orgs)).encode())\n"
        "for r in m.records(): h.update(repr(r).encode())\n"
        "print(h.hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": str(hash_seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for hash_seed in (1, 2)
    }
    assert len(digests) == 1
