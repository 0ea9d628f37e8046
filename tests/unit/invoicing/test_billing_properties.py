"""Property tests against a plain reference written from the spec text.

The reference works on ``fractions.Fraction`` (exact), walks the calendar day by day with a
running "last reported value / days since" state for missing days, decides per day which
contract version's terms are in force and which contract bills a service, splits a service's
days where its terms change (one line per segment, D the period's days: section 10), and
converts to ``Decimal`` only when rounding half-up at the end.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.invoicing.billing import (
    Contract,
    ContractVersion,
    CountingBasis,
    Line,
    Pricing,
    PricingModel,
    ServiceTerms,
    Tier,
    accounting_terms,
    compute_invoices,
    divide_round,
    fill_missing_days,
    multiplies_out,
    price,
    round_money,
)
from services.invoicing.billing.series import filled_series, filled_values

PLACES = {"EUR": 2, "JPY": 0, "KWD": 3}
MODULES = ("m1", "m2")
SOURCES = (("m1", "a"), ("m1", "b"), ("m2", "a"))
CODES = ("S1", "S2", "S3")
MODELS: tuple[PricingModel, ...] = ("per_unit", "graduated", "volume")
BASES: tuple[CountingBasis, ...] = ("daily", "monthly_peak", "monthly_last")


# --- reference ----------------------------------------------------------------------------


def half_up(x: Fraction, places: int) -> Decimal:
    scaled = abs(x) * 10**places
    n = math.floor(scaled + Fraction(1, 2))
    digits = f"{n:0{places + 1}d}"
    text = digits if places == 0 else f"{digits[:-places]}.{digits[-places:]}"
    return Decimal(("-" if x < 0 else "") + text)


def ref_price(pricing: Pricing, q: Fraction) -> Fraction:
    if pricing.model == "per_unit":
        return q * Fraction(pricing.unit_price)
    bounds = [None if t.up_to is None else Fraction(t.up_to) for t in pricing.tiers]
    prices = [Fraction(t.unit_price) for t in pricing.tiers]
    if pricing.model == "volume":
        for bound, p in zip(bounds, prices, strict=True):
            if bound is None or q <= bound:
                return q * p
        raise AssertionError("no tier")
    # graduated: fill the bands one after the other
    total = Fraction(0)
    left = q
    below = Fraction(0)
    for bound, p in zip(bounds, prices, strict=True):
        width = left if bound is None else min(left, bound - below)
        total += width * p
        left -= width
        if bound is not None:
            below = bound
        if left == 0:
            break
    return total


def ref_daily(
    first: date, last: date, reported: set[date], values: dict[date, Decimal]
) -> dict[date, Fraction]:
    """Day-by-day walk from ``first``: carry the last reported value for up to 3 days."""
    out: dict[date, Fraction] = {}
    carried: Fraction | None = None
    missing_run = 0
    day = first
    while day <= last:
        if day in reported:
            carried = Fraction(values.get(day, Decimal(0)))
            missing_run = 0
            out[day] = carried
        else:
            missing_run += 1
            out[day] = carried if carried is not None and missing_run <= 3 else Fraction(0)
        day += timedelta(days=1)
    return out


@dataclass
class RefLine:
    amount: Decimal
    quantity: Decimal
    unit_price: Decimal
    sources: dict[tuple[str, str], Decimal]


LineKey = tuple[str, str, date]
"""(contract id, service code, first day of the segment)"""


def ref_terms(c: Contract, day: date) -> dict[str, ServiceTerms]:
    """The services in force on ``day``: the version with the greatest effective_from <= day."""
    services = c.services
    for version in sorted(c.amendments, key=lambda v: v.effective_from):
        if version.effective_from <= day:
            services = version.services
    out: dict[str, ServiceTerms] = {}
    for terms in services:
        out.setdefault(terms.service_code, terms)
    return out


def bills_alike(a: ServiceTerms, b: ServiceTerms) -> bool:
    return (a.pricing, a.counting_basis, a.minimum_units) == (
        b.pricing,
        b.counting_basis,
        b.minimum_units,
    )


def ref_invoices(
    year: int,
    month: int,
    contracts: list[Contract],
    tax_rate: Decimal,
    usage: dict[str, dict[tuple[str, str], dict[date, Decimal]]],
    module_days: dict[str, set[date]],
    enabled: dict[str, date | None],
) -> dict[str, tuple[dict[LineKey, RefLine], Decimal, Decimal, Decimal]]:
    first = date(year, month, 1)
    n_days = (date(year + month // 12, month % 12 + 1, 1) - first).days
    period = [first + timedelta(days=i) for i in range(n_days)]
    window_start = first - timedelta(days=3)

    reported = {m: set(ds) for m, ds in module_days.items()}
    for per_source in usage.values():
        for (module, _metric), vals in per_source.items():
            reported.setdefault(module, set()).update(vals)

    def by_source(code: str, day: date) -> dict[tuple[str, str], Fraction]:
        out = {}
        for (module, metric), vals in usage.get(code, {}).items():
            since = enabled.get(module)
            if since is None or day < since:
                out[(module, metric)] = Fraction(0)
                continue
            series = ref_daily(window_start, period[-1], reported.get(module, set()), vals)
            out[(module, metric)] = series[day]
        return out

    def is_active(c: Contract, day: date) -> bool:
        return c.start_date <= day and (c.end_date is None or day <= c.end_date)

    result: dict[str, tuple[dict[LineKey, RefLine], Decimal, Decimal, Decimal]] = {}
    for currency in sorted({c.currency for c in contracts}):
        group = [c for c in contracts if c.currency == currency]
        if not any(is_active(c, d) for c in group for d in period):
            continue
        places = PLACES[currency]
        lines: dict[LineKey, RefLine] = {}
        for c in group:
            codes = [t.service_code for t in c.services]
            codes += [t.service_code for v in c.amendments for t in v.services]
            for code in dict.fromkeys(codes):
                segments: list[tuple[ServiceTerms, list[date]]] = []
                for day in period:
                    holders = [
                        (o.start_date, o.contract_id)
                        for o in group
                        if is_active(o, day) and code in ref_terms(o, day)
                    ]
                    if not holders or max(holders) != (c.start_date, c.contract_id):
                        continue
                    in_force = ref_terms(c, day)[code]
                    if segments and bills_alike(segments[-1][0], in_force):
                        segments[-1] = (in_force, [*segments[-1][1], day])
                    else:
                        segments.append((in_force, [day]))
                for terms, mine in segments:
                    line = ref_line(terms, mine, by_source, n_days, places)
                    if line.amount != 0 or line.quantity != 0:
                        lines[(c.contract_id, code, mine[0])] = line
        subtotal = sum((line.amount for line in lines.values()), Decimal(0))
        tax = half_up(Fraction(subtotal) * Fraction(tax_rate), places)
        result[currency] = (lines, subtotal, tax, subtotal + tax)
    return result


def ref_line(
    terms: ServiceTerms,
    mine: list[date],
    by_source: Callable[[str, date], dict[tuple[str, str], Fraction]],
    n_days: int,
    places: int,
) -> RefLine:
    minimum = Fraction(terms.minimum_units)
    split = [by_source(terms.service_code, d) for d in mine]
    q = [max(sum(parts.values(), Fraction(0)), minimum) for parts in split]
    listed = sorted({src for parts in split for src, v in parts.items() if v != 0})
    sources: dict[tuple[str, str], Fraction] = {}
    if not mine:
        amount, shown = Fraction(0), Fraction(0)
    elif terms.counting_basis == "daily":
        amount = sum((ref_price(terms.pricing, x) for x in q), Fraction(0)) / n_days
        shown = sum(q, Fraction(0)) / n_days
        for src in listed:
            sources[src] = sum((parts[src] for parts in split), Fraction(0)) / n_days
    else:
        if terms.counting_basis == "monthly_peak":
            chosen = next(i for i, x in enumerate(q) if x == max(q))
        else:
            chosen = len(q) - 1
        shown = q[chosen]
        amount = ref_price(terms.pricing, shown) * len(mine) / n_days
        sources = {src: split[chosen][src] for src in listed}
    rounded_amount, rounded_shown = half_up(amount, places), half_up(shown, 4)
    if terms.pricing.model == "per_unit":
        unit_price = terms.pricing.unit_price
    elif rounded_shown == 0:
        unit_price = Decimal(0)
    else:
        unit_price = half_up(Fraction(rounded_amount) / Fraction(rounded_shown), 4)
    return RefLine(
        rounded_amount,
        rounded_shown,
        unit_price,
        {src: half_up(v, 4) for src, v in sources.items()},
    )


# --- strategies ---------------------------------------------------------------------------

quantities = st.one_of(
    st.integers(0, 3).map(Decimal),  # small counts: ties at the peak, split between sources
    st.integers(0, 60).map(Decimal),
    st.integers(0, 600_000).map(lambda n: Decimal(n).scaleb(-4)),
)
prices = st.integers(0, 500_000).map(lambda n: Decimal(n).scaleb(-4))


@st.composite
def pricings(draw: st.DrawFn) -> Pricing:
    model = draw(st.sampled_from(MODELS))
    unit_price = draw(prices)
    if model == "per_unit":
        return Pricing("per_unit", unit_price)
    bounds = sorted(draw(st.sets(st.integers(1, 80), max_size=3)))
    fractional = draw(st.booleans())
    ups = [Decimal(b) / 2 if fractional else Decimal(b) for b in bounds]
    tiers = [Tier(up, draw(prices)) for up in sorted(set(ups))]
    tiers.append(Tier(None, draw(prices)))
    return Pricing(model, unit_price, tuple(tiers))


@st.composite
def services(draw: st.DrawFn, code: str) -> ServiceTerms:
    return ServiceTerms(
        code,
        f"service {code}",
        draw(pricings()),
        draw(st.sampled_from(BASES)),
        draw(st.one_of(st.just(Decimal(0)), st.integers(0, 20).map(Decimal))),
    )


@dataclass(frozen=True)
class Scenario:
    year: int
    month: int
    contracts: list[Contract]
    tax_rate: Decimal
    usage: dict[str, dict[tuple[str, str], dict[date, Decimal]]]
    module_days: dict[str, set[date]]
    enabled: dict[str, date | None]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    year = draw(st.integers(2024, 2030))
    month = draw(st.integers(1, 12))
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    window = [first - timedelta(days=3) + timedelta(days=i) for i in range((last - first).days + 4)]
    around = st.integers(-40, 40).map(lambda n: first + timedelta(days=n))

    contracts: list[Contract] = []
    for i in range(draw(st.integers(1, 3))):
        start = draw(around)
        length = draw(st.one_of(st.none(), st.integers(0, 50)))
        end = None if length is None else start + timedelta(days=length)
        codes = draw(st.lists(st.sampled_from(CODES), min_size=1, max_size=2, unique=True))
        base = tuple(draw(services(code)) for code in codes)
        amendments = []
        for since in sorted(draw(st.sets(st.integers(1, 60), max_size=2))):
            # An amendment keeps some services' terms (no new line for them), changes,
            # adds or drops others.
            kept = [t for t in base if draw(st.booleans())]
            added = draw(st.lists(st.sampled_from(CODES), max_size=2, unique=True))
            terms = kept + [
                draw(services(c)) for c in added if c not in {t.service_code for t in kept}
            ]
            if terms:
                amendments.append(ContractVersion(start + timedelta(days=since), tuple(terms)))
        contracts.append(
            Contract(
                f"c{draw(st.integers(0, 9))}{i}",
                f"contract {i}",
                draw(st.sampled_from(sorted(PLACES))),
                start,
                end,
                base,
                tuple(amendments),
            )
        )

    usage: dict[str, dict[tuple[str, str], dict[date, Decimal]]] = {}
    for code in CODES:
        chosen = draw(st.lists(st.sampled_from(SOURCES), max_size=2, unique=True))
        usage[code] = {
            source: draw(st.dictionaries(st.sampled_from(window), quantities, max_size=len(window)))
            for source in chosen
        }
    module_days = {m: draw(st.sets(st.sampled_from(window))) for m in MODULES}
    enabled = {
        m: draw(st.one_of(st.none(), st.integers(-5, 35).map(lambda n: first + timedelta(n))))
        for m in MODULES
        if draw(st.booleans()) or m == "m1"
    }
    tax_rate = draw(st.integers(0, 3000).map(lambda n: Decimal(n).scaleb(-4)))
    return Scenario(year, month, contracts, tax_rate, usage, module_days, enabled)


# --- properties ---------------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(scenarios())
def test_invoices_match_the_reference(s: Scenario) -> None:
    drafts = compute_invoices(
        f"{s.year:04d}-{s.month:02d}", s.contracts, s.tax_rate, s.usage, s.module_days, s.enabled
    )
    expected = ref_invoices(
        s.year, s.month, s.contracts, s.tax_rate, s.usage, s.module_days, s.enabled
    )
    assert [d.currency for d in drafts] == list(expected)
    for draft in drafts:
        lines, subtotal, tax, total = expected[draft.currency]
        got = {
            (li.contract_id, li.service_code, li.period_start): RefLine(
                li.amount,
                li.quantity,
                li.unit_price,
                {(sq.module, sq.metric): sq.quantity for sq in li.sources},
            )
            for li in draft.lines
        }
        assert got == lines
        assert (draft.subtotal, draft.tax, draft.total) == (subtotal, tax, total)
        places = PLACES[draft.currency]
        for li in draft.lines:
            assert li.amount.as_tuple().exponent == -places
            assert li.quantity.as_tuple().exponent == -4
            assert_calculation_adds_up(li)
            # What an accounting export writes always multiplies out to the amount.
            exported = accounting_terms(li.quantity, li.unit_price, li.amount, draft.currency)
            assert multiplies_out(*exported, li.amount, draft.currency)
        assert draft.total.as_tuple().exponent == -places


def assert_calculation_adds_up(line: Line) -> None:
    """The tiers a line uses add up to its quantity and amount; |A| is its segment's days."""
    calc = line.calculation
    assert calc is not None and line.period_start is not None and line.period_end is not None
    assert calc.active_days + sum(len(days) for _, days in calc.excluded) == calc.days_in_period
    assert calc.active_days <= (line.period_end - line.period_start).days + 1
    if calc.tiers:
        assert sum(t.amount for t in calc.tiers) == line.amount
        assert sum(t.quantity for t in calc.tiers) == line.quantity
        assert all(t.up_to is None or t.lower < t.up_to for t in calc.tiers)


@settings(max_examples=300, deadline=None)
@given(pricings(), quantities)
def test_price_matches_the_reference(pricing: Pricing, q: Decimal) -> None:
    assert Fraction(price(pricing, q)) == ref_price(pricing, Fraction(q))


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.integers(0, 40)),
    st.dictionaries(st.integers(0, 40), quantities),
)
def test_fill_missing_days_matches_the_reference(
    reported_offsets: set[int], value_offsets: dict[int, Decimal]
) -> None:
    origin = date(2027, 12, 20)
    reported = {origin + timedelta(days=n) for n in reported_offsets}
    values = {origin + timedelta(days=n): q for n, q in value_offsets.items()}
    requested = [origin + timedelta(days=n) for n in range(3, 41)]
    filled = fill_missing_days(requested, reported, values)
    expected = ref_daily(origin, requested[-1], reported | set(values), values)
    assert {d: Fraction(v.quantity) for d, v in filled.items()} == {
        d: expected[d] for d in requested
    }
    known = reported | set(values)
    for day, value in filled.items():
        carried = day not in known and any(day - timedelta(days=k) in known for k in (1, 2, 3))
        assert value.estimated == carried


@settings(max_examples=300, deadline=None)
@given(
    st.sets(st.integers(0, 40)),
    st.dictionaries(
        st.integers(0, 40),
        st.sampled_from(["0", "0.0000", "-0.0000", "2", "2.0", "2.0000", "7.5"]).map(Decimal),
    ),
    st.lists(st.integers(3, 40), unique=True),
)
def test_a_filled_series_shows_what_filled_values_show(
    reported_offsets: set[int], value_offsets: dict[int, Decimal], day_offsets: list[int]
) -> None:
    """Equal quantities that print differently show as the first made, as daily values do."""
    origin = date(2027, 12, 20)
    reported = {origin + timedelta(days=n) for n in reported_offsets}
    values = {origin + timedelta(days=n): q for n, q in value_offsets.items()}
    requested = [origin + timedelta(days=n) for n in day_offsets]
    expected = filled_values(requested, reported, values)
    series = filled_series(requested, reported, values)
    assert series.values() == expected
    assert [str(q) for q in series.quantities] == [str(v.quantity) for v in expected]


@settings(max_examples=300, deadline=None)
@given(
    st.integers(-(10**12), 10**12).map(lambda n: Decimal(n).scaleb(-5)),
    st.integers(1, 400),
    st.integers(0, 4),
)
def test_divide_round_matches_the_reference(
    numerator: Decimal, denominator: int, places: int
) -> None:
    assert divide_round(numerator, denominator, places) == half_up(
        Fraction(numerator) / denominator, places
    )


@given(st.integers(-(10**9), 10**9).map(lambda n: Decimal(n).scaleb(-4)))
def test_round_money_matches_the_reference(amount: Decimal) -> None:
    for currency, places in PLACES.items():
        assert round_money(amount, currency) == half_up(Fraction(amount), places)
