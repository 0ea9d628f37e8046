from __future__ import annotations

from decimal import Decimal

import pytest

from services.invoicing.billing import InvalidPricing, Pricing, Tier, price, pricing_errors

D = Decimal

# 10 units at 1.00, the next 10 at 0.80, every further unit at 0.50
TIERS = (Tier(D(10), D("1.00")), Tier(D(20), D("0.80")), Tier(None, D("0.50")))
GRADUATED = Pricing("graduated", D(0), TIERS)
VOLUME = Pricing("volume", D(0), TIERS)


def test_per_unit() -> None:
    assert price(Pricing("per_unit", D("2.50")), D(4)) == D("10.00")
    assert price(Pricing("per_unit", D("2.50")), D("0.5")) == D("1.25")
    assert price(Pricing("per_unit", D("2.50")), D(0)) == 0


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("0", "0"),
        ("5", "5.00"),  # 5 x 1.00
        ("10", "10.00"),  # 10 x 1.00, exactly the first bound
        ("10.5", "10.40"),  # 10 x 1.00 + 0.5 x 0.80
        ("12", "11.60"),  # 10 + 2 x 0.80
        ("15", "14.00"),  # 10 + 5 x 0.80
        ("20", "18.00"),  # 10 + 10 x 0.80
        ("25", "20.50"),  # 10 + 8 + 5 x 0.50
    ],
)
def test_graduated(q: str, expected: str) -> None:
    assert price(GRADUATED, D(q)) == D(expected)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("0", "0"),
        ("5", "5.00"),  # 5 x 1.00
        ("10", "10.00"),  # 10 <= 10: first tier
        ("10.5", "8.40"),  # 10.5 x 0.80
        ("12", "9.60"),  # 12 x 0.80
        ("15", "12.00"),  # 15 x 0.80
        ("20", "16.00"),  # 20 <= 20: second tier
        ("21", "10.50"),  # 21 x 0.50
        ("25", "12.50"),  # 25 x 0.50
    ],
)
def test_volume(q: str, expected: str) -> None:
    assert price(VOLUME, D(q)) == D(expected)


def test_single_unbounded_tier() -> None:
    assert price(Pricing("graduated", D(0), (Tier(None, D(3)),)), D(7)) == D(21)
    assert price(Pricing("volume", D(0), (Tier(None, D(3)),)), D(7)) == D(21)


def test_valid_definitions_have_no_errors() -> None:
    assert pricing_errors(Pricing("per_unit", D("1.5"))) == []
    assert pricing_errors(Pricing("per_unit", D(0))) == []
    assert pricing_errors(GRADUATED) == []
    assert pricing_errors(VOLUME) == []


@pytest.mark.parametrize(
    ("pricing", "errors"),
    [
        (Pricing("per_unit", D("-1")), [("unit_price", "must not be negative")]),
        (
            Pricing("per_unit", D(1), TIERS),
            [("tiers", "must be empty for the per_unit model")],
        ),
        (
            Pricing("graduated", D(1)),
            [("tiers", "at least one tier is required for the graduated model")],
        ),
        (
            Pricing("volume", D(1)),
            [("tiers", "at least one tier is required for the volume model")],
        ),
        (
            Pricing("volume", D(0), (Tier(D(10), D("-0.01")), Tier(None, D(1)))),
            [("tiers.0.unit_price", "must not be negative")],
        ),
        (
            Pricing("graduated", D(0), (Tier(D(10), D(1)), Tier(D(10), D(1)), Tier(None, D(1)))),
            [("tiers.1.up_to", "must be greater than the previous tier's up_to")],
        ),
        (
            Pricing("graduated", D(0), (Tier(D(10), D(1)), Tier(D(5), D(1)), Tier(None, D(1)))),
            [("tiers.1.up_to", "must be greater than the previous tier's up_to")],
        ),
        (
            Pricing("graduated", D(0), (Tier(D(0), D(1)), Tier(None, D(1)))),
            [("tiers.0.up_to", "must be greater than 0")],
        ),
        (
            Pricing("volume", D(0), (Tier(D(-5), D(1)), Tier(None, D(1)))),
            [("tiers.0.up_to", "must be greater than 0")],
        ),
        (
            Pricing("graduated", D(0), (Tier(D(10), D(1)), Tier(D(20), D(1)))),
            [("tiers.1.up_to", "the last tier must be unbounded (null)")],
        ),
        (
            Pricing("volume", D(0), (Tier(None, D(1)), Tier(None, D(2)))),
            [("tiers.0.up_to", "only the last tier may be unbounded (null)")],
        ),
        (
            Pricing("volume", D(0), (Tier(D(5), D(1)), Tier(None, D(2)), Tier(D(9), D(1)))),
            [
                ("tiers.1.up_to", "only the last tier may be unbounded (null)"),
                ("tiers.2.up_to", "the last tier must be unbounded (null)"),
            ],
        ),
        (
            Pricing("per_unit", D("NaN")),
            [("unit_price", "must be a finite number")],
        ),
    ],
)
def test_invalid_definitions(pricing: Pricing, errors: list[tuple[str, str]]) -> None:
    assert pricing_errors(pricing) == errors
    with pytest.raises(InvalidPricing) as info:
        price(pricing, D(1))
    assert info.value.errors == errors


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        price(Pricing("per_unit", D(1)), D(-1))
