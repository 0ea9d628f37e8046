"""A deterministic, scalable sample MSP: customers, module organisations, daily usage."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from random import Random

from shared.catalog import CATALOG, Catalog, Module
from tools.sample import words as w
from tools.sample.model import (
    SampleCompany,
    SampleOrg,
    SampleRecord,
    SampleService,
    as_usage_json,
)
from tools.sample.names import (
    CompanyName,
    CompanyNamer,
    OrgIdFactory,
    OrgNamer,
    below,
    chance,
)
from tools.sample.pricing import PRICE_LIST, service_mappings
from tools.sample.usage import (
    DERIVED,
    NEVER,
    MetricSpec,
    Profile,
    company_profile,
    metric_spec,
    small_profile,
)

__all__ = ["SampleMsp", "generate", "summary"]

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_NOISE_SIZE = 4096  # a power of two: the noise index is masked, not divided
_MIN_MODULES = 3
_SMALL_DECIMALS = tuple(Decimal(i) for i in range(4096))

# Chance (per mille) that a customer uses a module, before the size bonus. Datto RMM and
# VSA 10 are the RMM platform: a customer has at most one of them.
_POPULARITY: dict[str, int] = {
    "bullphish_id": 500,
    "compliance_manager": 200,
    "cyber_hawk": 150,
    "dark_web_id": 550,
    "datto_azure_backup": 120,
    "datto_bcdr": 400,
    "datto_edr": 380,
    "datto_endpoint_backup_pc": 250,
    "datto_endpoint_backup_server": 200,
    "datto_file_protection": 150,
    "datto_networking": 200,
    "datto_saas_defense": 200,
    "graphus": 300,
    "network_detective_pro": 150,
    "passly": 150,
    "rocketcyber": 300,
    "saas_protection": 450,
    "traverse": 130,
    "uniview": 100,
    "vulscan": 200,
    "workplace": 120,
    "spanning_o365": 200,
    "spanning_google": 80,
}
_RMM = ("datto_rmm", "vsa_10")
_MULTI_SITE = frozenset(
    {
        "datto_rmm",
        "vsa_10",
        "datto_bcdr",
        "datto_networking",
        "cyber_hawk",
        "network_detective_pro",
        "traverse",
        "uniview",
    }
)


_Derived = tuple[tuple[str, tuple[int, ...]], ...]
# org_id, name before rename, name after, rename day index, first and last day index, specs,
# derived metrics: one row of the precomputed plan.
_Row = tuple[str, str, str, int, int, int, tuple[MetricSpec, ...], _Derived]


class _OrgPlan:
    """Everything the record loop needs for one organisation, precomputed as plain values."""

    __slots__ = ("derived", "first", "last", "name0", "name1", "org_id", "rename_at", "specs")

    def __init__(
        self, org_id: str, name: str, specs: tuple[MetricSpec, ...], derived: _Derived
    ) -> None:
        self.org_id = org_id
        self.name0 = name
        self.name1 = name
        self.rename_at = NEVER
        self.first = -NEVER
        self.last = NEVER
        self.specs = specs
        self.derived = derived

    def row(self) -> _Row:
        return (
            self.org_id,
            self.name0,
            self.name1,
            self.rename_at,
            self.first,
            self.last,
            self.specs,
            self.derived,
        )


@dataclass(frozen=True, slots=True)
class _Draft:
    module: str
    plan: _OrgPlan
    company_key: str | None
    company_name: CompanyName | None


def _parse_period(period: str) -> tuple[dt.date, int]:
    match = _PERIOD.match(period)
    if not match:
        raise ValueError(f"period must be 'YYYY-MM', not {period!r}")
    year, month = int(match[1]), int(match[2])
    return dt.date(year, month, 1), calendar.monthrange(year, month)[1]


class SampleMsp:
    """A generated MSP. Immutable after ``generate``; ``records`` streams on every call."""

    def __init__(
        self,
        *,
        seed: int,
        period: str,
        msp_name: str,
        catalog: Catalog,
        companies: tuple[SampleCompany, ...],
        orgs: tuple[SampleOrg, ...],
        plan: tuple[tuple[str, tuple[_Row, ...]], ...],
        noise: tuple[int, ...],
        missing_days: Mapping[str, frozenset[dt.date]],
    ) -> None:
        self.seed = seed
        self.period = period
        self.period_start, self.days_in_period = _parse_period(period)
        self.period_end = self.period_start + dt.timedelta(days=self.days_in_period - 1)
        self.msp_name = msp_name
        self.catalog = catalog
        self.companies = companies
        self.orgs = orgs
        self.missing_days: Mapping[str, frozenset[dt.date]] = missing_days
        self._plan = plan
        self._noise = noise
        self._by_key = {c.key: c for c in companies}

    def __repr__(self) -> str:
        return (
            f"SampleMsp(seed={self.seed}, period={self.period!r}, "
            f"companies={len(self.companies)}, orgs={len(self.orgs)})"
        )

    def company(self, key: str) -> SampleCompany | None:
        return self._by_key.get(key)

    def days(self, start: dt.date | None = None, end: dt.date | None = None) -> list[dt.date]:
        first = self.period_start if start is None else start
        last = self.period_end if end is None else end
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def records(
        self, start: dt.date | None = None, end: dt.date | None = None
    ) -> Iterator[SampleRecord]:
        """Daily counts from ``start`` to ``end`` (default: the period), day by day, module by
        module in catalog order, as each module's daily sync would send them; within an org,
        a derived metric (the RMM total) follows its parts. Any date range works: the series
        extend before and after the period. Nothing is materialised: call it again to replay."""
        noise = self._noise
        mask = _NOISE_SIZE - 1
        period_days = self.days_in_period
        # The hot loop builds ~all records through these locals: tuple.__new__ skips the
        # NamedTuple's Python-level __new__ (as its own _make does), small counts come from a
        # table of shared (immutable) Decimals.
        new = tuple.__new__
        record = SampleRecord
        decimal = Decimal
        small = _SMALL_DECIMALS
        n_small = len(small)
        no_missing: frozenset[dt.date] = frozenset()
        for day in self.days(start, end):
            di = (day - self.period_start).days
            weekend = day.weekday() >= 5
            for module, orgs in self._plan:
                if day in self.missing_days.get(module, no_missing):
                    continue
                for org_id, name0, name1, rename_at, first, last, specs, derived in orgs:
                    if di < first or di > last:
                        continue
                    name = name0 if di < rename_at else name1
                    values: list[int] = []
                    for metric, base, slope, jit, wk, off, places, jump_at, jump_add in specs:
                        q = base + slope * di // period_days
                        if di >= jump_at:
                            q += jump_add
                        if jit:
                            q += (q * jit * noise[(off + di) & mask] + 5000) // 10000
                        if wk and weekend:
                            q = q * wk // 100
                        if q < 0:
                            q = 0
                        if derived:
                            values.append(q)
                        if places:
                            quantity = decimal(q).scaleb(-places)
                        else:
                            quantity = small[q] if q < n_small else decimal(q)
                        yield new(record, (module, org_id, name, metric, day, quantity))
                    for metric, parts in derived:
                        q = sum([values[i] for i in parts])
                        quantity = small[q] if q < n_small else decimal(q)
                        yield new(record, (module, org_id, name, metric, day, quantity))

    def record_count(self, start: dt.date | None = None, end: dt.date | None = None) -> int:
        """How many records ``records(start, end)`` yields, without generating them."""
        total = 0
        for day in self.days(start, end):
            di = (day - self.period_start).days
            for module, orgs in self._plan:
                if day in self.missing_days.get(module, frozenset()):
                    continue
                for row in orgs:
                    if row[4] <= di <= row[5]:
                        total += len(row[6]) + len(row[7])
        return total

    as_usage_json = staticmethod(as_usage_json)

    def price_list(self) -> tuple[SampleService, ...]:
        """The tenant-wide service plan; metrics without a listed service get a generic one."""
        covered = {source for service in PRICE_LIST for source in service.sources}
        extra = tuple(
            SampleService(
                service_code=f"{module.id}-{metric.id}".upper().replace("_", "-"),
                name=f"{module.name} {metric.id.replace('_', ' ')}",
                unit=metric.unit,
                unit_price=Decimal("1.00"),
                sources=((module.id, metric.id),),
            )
            for module in self.catalog.modules
            for metric in module.metrics
            if (module.id, metric.id) not in covered
        )
        known = set(self.catalog.metric_keys())
        listed = tuple(s for s in PRICE_LIST if all(src in known for src in s.sources))
        return listed + extra

    def service_mappings(self) -> dict[tuple[str, str], tuple[str, ...]]:
        return service_mappings(self.price_list())


class _Builder:
    def __init__(self, seed: int, catalog: Catalog, period_days: int) -> None:
        self.rng = Random(seed)
        self.catalog = catalog
        self.period_days = period_days
        self.namer = CompanyNamer(self.rng)
        self.orgnamer = OrgNamer(self.rng)
        self.ids = OrgIdFactory(self.rng)
        self.drafts: list[_Draft] = []

    def plan_org(self, module: Module, name: str, profile: Profile) -> _OrgPlan:
        rng = self.rng
        jump_at = rng.randint(3, self.period_days - 3) if chance(rng, 1) else NEVER
        derived_ids = {m for (mod, m) in DERIVED if mod == module.id}
        specs = tuple(
            metric_spec(rng, module.id, metric, profile, jump_at=jump_at)
            for metric in module.metrics
            if metric.id not in derived_ids
        )
        index = {s.metric: i for i, s in enumerate(specs)}
        derived = tuple(
            (metric.id, tuple(index[p] for p in DERIVED[(module.id, metric.id)] if p in index))
            for metric in module.metrics
            if metric.id in derived_ids
        )
        return _OrgPlan(self.ids.new(module.id, name), name, specs, derived)

    def add(
        self,
        module: Module,
        name: str,
        profile: Profile,
        key: str | None,
        company_name: CompanyName | None = None,
    ) -> None:
        plan = self.plan_org(module, name, profile)
        self.drafts.append(_Draft(module.id, plan, key, company_name))

    def modules_for(self, profile: Profile) -> list[str]:
        rng = self.rng
        bonus = (70, 100, 140, 170)[min(3, profile.employees // 50 + (profile.employees > 250))]
        chosen: list[str] = []
        rmm_roll = rng.randrange(100)
        rmm = "datto_rmm" if rmm_roll < 62 else "vsa_10" if rmm_roll < 87 else None
        for module in self.catalog.modules:
            if module.id in _RMM:
                if module.id == rmm:
                    chosen.append(module.id)
                continue
            per_mille = min(950, _POPULARITY.get(module.id, 150) * bonus // 100)
            if below(rng, 1000) < per_mille:
                chosen.append(module.id)
        others = [m for m in self.catalog.module_ids if m not in chosen and m not in _RMM]
        rng.shuffle(others)
        while len(chosen) < _MIN_MODULES and others:
            chosen.append(others.pop())
        return chosen


def _noise_table(rng: Random) -> tuple[int, ...]:
    # Triangular in [-100, 100]: most days close to the trend, a few further off.
    return tuple(rng.randint(-50, 50) + rng.randint(-50, 50) for _ in range(_NOISE_SIZE))


def _msp_name(rng: Random) -> str:
    return f"{rng.choice(w.ADJECTIVES)}{rng.choice(w.NOUNS).lower()} {rng.choice(w.MSP_TAILS)}"


def _validate_missing(
    catalog: Catalog, missing_days: Mapping[str, Collection[dt.date]] | None
) -> dict[str, frozenset[dt.date]]:
    result: dict[str, frozenset[dt.date]] = {}
    for module, days in (missing_days or {}).items():
        if module not in catalog:
            raise ValueError(f"missing_days: unknown module {module!r}")
        result[module] = frozenset(days)
    return result


def generate(
    seed: int = 7,
    companies: int = 40,
    period: str = "2026-10",
    *,
    missing_days: Mapping[str, Collection[dt.date]] | None = None,
    catalog: Catalog = CATALOG,
) -> SampleMsp:
    """Generate a sample MSP; the same arguments always give the same MSP and records.

    ``missing_days`` lists, per module, days on which that module sends nothing (a failed
    sync). Every catalog module is used by at least one customer, every customer uses at least
    three modules.
    """
    if companies < 1:
        raise ValueError("companies must be at least 1")
    period_start, period_days = _parse_period(period)
    missing = _validate_missing(catalog, missing_days)
    b = _Builder(seed, catalog, period_days)
    rng = b.rng
    noise = _noise_table(rng)
    msp_name = _msp_name(rng)
    by_id = {m.id: m for m in catalog.modules}
    width = max(4, len(str(companies)))

    names: list[CompanyName] = []
    profiles: list[Profile] = []
    usage: list[list[str]] = []
    sample_companies: list[SampleCompany] = []
    for i in range(companies):
        country = b.namer.country()
        name = b.namer.company(country, i)
        profile = company_profile(rng)
        names.append(name)
        profiles.append(profile)
        usage.append(b.modules_for(profile))
        sample_companies.append(
            SampleCompany(
                key=f"co-{i + 1:0{width}d}",
                name=name.full,
                external_ref=f"CUST-{i + 1:0{width}d}",
                tax_rate=Decimal(rng.choice(country.tax_rates)),
                currency=rng.choice(country.currencies),
                country=country.code,
            )
        )
    used = {m for modules in usage for m in modules}
    for module_id in catalog.module_ids:  # every module has at least one customer
        if module_id not in used:
            usage[rng.randrange(companies)].append(module_id)

    for i, company in enumerate(sample_companies):
        for module_id in (m for m in catalog.module_ids if m in usage[i]):
            module = by_id[module_id]
            name = names[i]
            variant = b.orgnamer.variant(name, module_id)
            b.add(module, variant, profiles[i], company.key, name)
            if chance(rng, 8 if module_id in _MULTI_SITE else 2):
                site_profile = profiles[i].scaled(rng.randint(10, 40))
                site = b.orgnamer.site(name, module_id)
                b.add(module, site, site_profile, company.key, name)

    _add_noise_orgs(b, msp_name, companies, by_id)
    _add_former_customers(b, companies, by_id)
    _add_events(b, period_days)

    grouped: dict[str, list[_Draft]] = {m: [] for m in catalog.module_ids}
    for draft in b.drafts:
        grouped[draft.module].append(draft)
    drafts = [d for module_drafts in grouped.values() for d in module_drafts]
    plan = tuple(
        (module_id, tuple(d.plan.row() for d in module_drafts))
        for module_id, module_drafts in grouped.items()
        if module_drafts
    )
    orgs = tuple(_sample_org(d, period_start) for d in drafts)
    return SampleMsp(
        seed=seed,
        period=period,
        msp_name=msp_name,
        catalog=catalog,
        companies=tuple(sample_companies),
        orgs=orgs,
        plan=plan,
        noise=noise,
        missing_days=missing,
    )


def _add_noise_orgs(b: _Builder, msp: str, companies: int, by_id: Mapping[str, Module]) -> None:
    rng = b.rng
    short = msp.split()[0]
    module_ids = list(by_id)
    for n in range(max(3, companies // 12)):
        template = w.NOISE_NAMES[n % len(w.NOISE_NAMES)]
        name = template.format(n=n // len(w.NOISE_NAMES) + rng.randint(1, 9), msp=short)
        for module_id in rng.sample(module_ids, rng.randint(1, 3)):
            b.add(by_id[module_id], name, small_profile(rng), None)


def _add_former_customers(b: _Builder, companies: int, by_id: Mapping[str, Module]) -> None:
    """Real-looking customers that are not (or no longer) the MSP's: never to be mapped."""
    rng = b.rng
    module_ids = list(by_id)
    for i in range(max(2, companies // 25)):
        name = b.namer.company(b.namer.country(), companies + i)
        profile = company_profile(rng)
        for module_id in rng.sample(module_ids, rng.randint(1, 3)):
            b.add(by_id[module_id], b.orgnamer.variant(name, module_id), profile, None, name)


def _add_events(b: _Builder, period_days: int) -> None:
    """Renames, churn (an org stops), onboarding (an org starts): each at least once, each
    on different orgs so that every event shows in the records."""
    rng = b.rng
    pool = list(b.drafts)

    def pick(per_mille: int) -> list[_Draft]:
        chosen = [d for d in pool if below(rng, 1000) < per_mille]
        if not chosen and pool:
            chosen = [pool[rng.randrange(len(pool))]]
        taken = {id(d) for d in chosen}
        pool[:] = [d for d in pool if id(d) not in taken]
        return chosen

    for d in pick(20):
        d.plan.rename_at = rng.randint(3, period_days - 3)
        d.plan.name1 = _new_name(b, d)
    for d in pick(15):
        d.plan.last = rng.randint(4, period_days - 4)
    for d in pick(15):
        d.plan.first = rng.randint(4, period_days - 4)


def _new_name(b: _Builder, d: _Draft) -> str:
    """The org's name from its rename day on: its admins re-typed the customer's name."""
    rng = b.rng
    old = d.plan.name0
    for _ in range(10):
        if d.company_name is not None:
            candidate = b.orgnamer.variant(d.company_name, d.module)
        else:
            candidate = rng.choice((f"zz_{old}", f"{old} (old)", old.upper(), f"[Archived] {old}"))
        if candidate.strip() != old.strip():
            return candidate
    return f"{old} (renamed)"


def _sample_org(d: _Draft, period_start: dt.date) -> SampleOrg:
    p = d.plan

    def day(index: int) -> dt.date | None:
        return None if abs(index) >= NEVER else period_start + dt.timedelta(days=index)

    jump = min((s.jump_at for s in p.specs), default=NEVER)
    return SampleOrg(
        module=d.module,
        org_id=p.org_id,
        org_name=p.name0,
        company_key=d.company_key,
        renamed_to=p.name1 if p.rename_at != NEVER else None,
        renamed_on=day(p.rename_at),
        first_day=day(p.first),
        last_day=day(p.last),
        jump_on=day(jump),
    )


def summary(msp: SampleMsp) -> str:
    """A few lines describing the sample: customers, organisations, records."""
    mapped = sum(1 for o in msp.orgs if o.company_key is not None)
    modules = {o.module for o in msp.orgs}
    renamed = sum(1 for o in msp.orgs if o.renamed_to is not None)
    stopped = sum(1 for o in msp.orgs if o.last_day is not None)
    started = sum(1 for o in msp.orgs if o.first_day is not None)
    currencies = sorted({c.currency for c in msp.companies})
    return "\n".join(
        (
            f"sample MSP {msp.msp_name!r} (seed {msp.seed}), period {msp.period}",
            f"companies: {len(msp.companies)} ({', '.join(currencies)})",
            f"module orgs: {len(msp.orgs)} in {len(modules)} modules; {mapped} belong to a company,"
            f" {len(msp.orgs) - mapped} to none",
            f"events: {renamed} renamed, {stopped} stopped, {started} started mid-period",
            f"records in the period: {msp.record_count()}",
            f"services in the price list: {len(msp.price_list())}",
        )
    )
