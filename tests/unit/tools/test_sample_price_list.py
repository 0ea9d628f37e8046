from __future__ import annotations

from collections import Counter
from decimal import Decimal

from shared.catalog import CATALOG
from tools.sample import (
    PRICE_LIST,
    SampleService,
    as_contract_service_json,
    generate,
    service_mappings,
)


def services() -> tuple[SampleService, ...]:
    return generate(companies=3).price_list()


def test_every_catalog_metric_feeds_exactly_one_service() -> None:
    plan = services()
    sources = Counter(src for s in plan for src in s.sources)
    assert set(sources) == set(CATALOG.metric_keys())
    assert all(n == 1 for n in sources.values())
    assert plan == PRICE_LIST  # the built-in plan covers the packaged catalog


def test_codes_are_unique_and_readable() -> None:
    codes = [s.service_code for s in services()]
    assert len(codes) == len(set(codes))
    assert {"RMM-DESKTOP", "BCDR-AGENT", "DWID-DOMAIN"} <= set(codes)
    assert all(code == code.upper() and " " not in code for code in codes)


def test_prices_are_decimals() -> None:
    for s in services():
        assert isinstance(s.unit_price, Decimal) and s.unit_price >= 0
        assert isinstance(s.minimum_units, Decimal)
        for tier in s.tiers:
            assert isinstance(tier.unit_price, Decimal)
            assert tier.up_to is None or isinstance(tier.up_to, Decimal)


def test_pricing_models_and_counting_bases_are_all_represented() -> None:
    plan = services()
    models = Counter(s.pricing for s in plan)
    bases = Counter(s.counting_basis for s in plan)
    assert models["per_unit"] > len(plan) // 2
    assert models["graduated"] >= 1 and models["volume"] >= 1
    assert bases["daily"] > len(plan) // 2
    assert bases["monthly_peak"] >= 1 and bases["monthly_last"] >= 1
    assert any(s.minimum_units > 0 for s in plan)


def test_tiers_are_well_formed() -> None:
    for s in services():
        if s.pricing == "per_unit":
            assert s.tiers == ()
            continue
        assert s.tiers, s.service_code
        assert s.tiers[-1].up_to is None
        bounds = [t.up_to for t in s.tiers[:-1]]
        assert all(b is not None for b in bounds)
        assert bounds == sorted(b for b in bounds if b is not None)


def test_many_to_one() -> None:
    shared = [s for s in services() if len(s.sources) > 1]
    assert len(shared) >= 2
    mappings = service_mappings()
    assert mappings[("spanning_o365", "users")] == mappings[("spanning_google", "users")]


def test_contract_service_json() -> None:
    by_code = {s.service_code: s for s in services()}
    body = as_contract_service_json(by_code["EDR-ENDPOINT"])
    assert body["service_code"] == "EDR-ENDPOINT"
    assert body["pricing"]["model"] == "volume"
    assert body["pricing"]["tiers"][-1] == {"up_to": None, "unit_price": "3.00"}
    assert body["unit_price"] == "4.00"
    plain = as_contract_service_json(by_code["RMM-DESKTOP"])
    assert plain["pricing"] == {"model": "per_unit"}
    assert plain["counting_basis"] == "daily"
