"""How much a customer uses: one size profile per company, per-metric models on top of it.

All arithmetic is on integers; fractional metrics are computed in units of 10**-places and
turned into ``Decimal`` only when a record is emitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random
from typing import NamedTuple

from shared.catalog import Metric
from tools.sample.names import below, chance

__all__ = [
    "DERIVED",
    "MetricModel",
    "MetricSpec",
    "Profile",
    "company_profile",
    "metric_spec",
    "model_for",
    "small_profile",
]


class Profile(NamedTuple):
    """The size of one customer (or of one site of it), in whole units."""

    employees: int
    desktops: int
    servers: int
    network: int
    sites: int
    domains: int
    vms: int

    @property
    def devices(self) -> int:
        return self.desktops + self.servers

    @property
    def infra(self) -> int:
        return self.servers + self.network

    def driver(self, name: str) -> int:
        if name == "devices":
            return self.devices
        if name == "infra":
            return self.infra
        value: int = getattr(self, name)
        return value

    def scaled(self, per_cent: int) -> Profile:
        return Profile(*(max(1, v * per_cent // 100) for v in self))


# (lower, upper) employees and weight per size class: micro, small, medium, large.
_SIZES: tuple[tuple[int, int, int], ...] = (
    (3, 12, 25),
    (12, 50, 40),
    (50, 250, 25),
    (250, 2000, 10),
)


def company_profile(rng: Random) -> Profile:
    lo, hi, _ = rng.choices(_SIZES, weights=[s[2] for s in _SIZES])[0]
    employees = rng.randint(lo, hi)
    desktops = max(1, employees * rng.randint(85, 130) // 100)
    servers = max(
        1 if employees > 8 or rng.randrange(2) else 0, employees * rng.randint(2, 8) // 100
    )
    network = max(1, employees * rng.randint(4, 12) // 100)
    sites = min(12, 1 + employees // rng.randint(80, 200))
    domains = 1 + rng.randrange(3) + employees // 400
    vms = max(1, servers * rng.randint(50, 150) // 100)
    return Profile(employees, desktops, servers, network, sites, domains, vms)


def small_profile(rng: Random) -> Profile:
    """Test tenants, internal use, leftovers: a handful of everything."""
    n = rng.randint(1, 6)
    return Profile(n, n, rng.randrange(2), 1, 1, 1, 1)


@dataclass(frozen=True, slots=True)
class MetricModel:
    """``base = driver * ratio / 1000`` with ratio drawn from [lo, hi] (``const``: base in
    [lo, hi]); day-to-day jitter up to ``jitter`` %, weekend dips for device counts, and a
    monthly trend drawn from [growth_lo, growth_hi] per mille."""

    driver: str
    lo: int
    hi: int
    jitter: int = 0
    weekend: bool = False
    growth_lo: int = -5
    growth_hi: int = 25


_MODELS: dict[tuple[str, str], MetricModel] = {
    ("bullphish_id", "users"): MetricModel("employees", 850, 1050, 1),
    ("compliance_manager", "devices"): MetricModel("devices", 900, 1050, 2),
    ("cyber_hawk", "sites"): MetricModel("sites", 1000, 1000, growth_lo=0, growth_hi=0),
    ("dark_web_id", "domains"): MetricModel("domains", 1000, 1000, growth_lo=0, growth_hi=0),
    ("dark_web_id", "live_searches"): MetricModel("const", 0, 3, 0, growth_lo=0, growth_hi=0),
    ("datto_azure_backup", "protected_vms"): MetricModel("vms", 1000, 1000, 1),
    ("datto_azure_backup", "storage_tb"): MetricModel(
        "vms", 150, 2000, 1, growth_lo=5, growth_hi=60
    ),
    ("datto_bcdr", "protected_agents"): MetricModel("servers", 1000, 2000, 1),
    ("datto_bcdr", "appliances"): MetricModel("sites", 1000, 1000, growth_lo=0, growth_hi=0),
    ("datto_edr", "endpoints"): MetricModel("devices", 900, 1000, 3, weekend=True),
    ("datto_endpoint_backup_pc", "pcs"): MetricModel("desktops", 200, 700, 3, weekend=True),
    ("datto_endpoint_backup_server", "servers"): MetricModel("servers", 800, 1000, 1),
    ("datto_file_protection", "users"): MetricModel("employees", 600, 1000, 1),
    ("datto_networking", "devices"): MetricModel("network", 1000, 1500, 1),
    ("datto_rmm", "desktops_laptops"): MetricModel("desktops", 950, 1000, 3, weekend=True),
    ("datto_rmm", "servers"): MetricModel("servers", 1000, 1000, 1),
    ("datto_rmm", "network_devices"): MetricModel("network", 800, 1000, 2),
    ("datto_saas_defense", "users"): MetricModel("employees", 900, 1100, 1),
    ("graphus", "mailboxes"): MetricModel("employees", 1000, 1300, 1),
    ("network_detective_pro", "sites"): MetricModel("sites", 1000, 1000, growth_lo=0, growth_hi=0),
    ("passly", "users"): MetricModel("employees", 800, 1050, 1),
    ("rocketcyber", "devices"): MetricModel("devices", 900, 1000, 3, weekend=True),
    ("saas_protection", "seats"): MetricModel("employees", 950, 1150, 1),
    ("traverse", "devices"): MetricModel("infra", 1000, 1500, 2),
    ("uniview", "devices"): MetricModel("infra", 800, 1200, 2),
    ("vsa_10", "devices"): MetricModel("devices", 950, 1000, 3, weekend=True),
    ("vulscan", "ip_addresses"): MetricModel("devices", 1100, 1600, 4, weekend=True),
    ("workplace", "users"): MetricModel("employees", 700, 1000, 1),
    ("spanning_o365", "users"): MetricModel("employees", 950, 1100, 1),
    ("spanning_google", "users"): MetricModel("employees", 950, 1100, 1),
}

# For modules added to the catalog later: a model by unit.
_BY_UNIT: dict[str, MetricModel] = {
    "user": MetricModel("employees", 800, 1050, 1),
    "device": MetricModel("devices", 900, 1000, 2),
    "site": MetricModel("sites", 1000, 1000, growth_lo=0, growth_hi=0),
    "domain": MetricModel("domains", 1000, 1000, growth_lo=0, growth_hi=0),
    "mailbox": MetricModel("employees", 1000, 1200, 1),
    "seat": MetricModel("employees", 950, 1100, 1),
    "vm": MetricModel("vms", 1000, 1000, 1),
    "agent": MetricModel("servers", 1000, 1500, 1),
    "appliance": MetricModel("sites", 1000, 1000, growth_lo=0, growth_hi=0),
    "ip_address": MetricModel("devices", 1100, 1500, 3),
    "tb": MetricModel("vms", 150, 2000, 1, growth_lo=5, growth_hi=60),
}
_DEFAULT_MODEL = MetricModel("const", 1, 10, 1)

# Metrics that are the sum of other metrics of the same module, on every day.
DERIVED: dict[tuple[str, str], tuple[str, ...]] = {
    ("datto_rmm", "total_devices"): ("desktops_laptops", "servers", "network_devices"),
}


def model_for(module: str, metric: Metric) -> MetricModel:
    return _MODELS.get((module, metric.id)) or _BY_UNIT.get(metric.unit, _DEFAULT_MODEL)


class MetricSpec(NamedTuple):
    """Precomputed parameters of one (org, metric) series; quantities in 10**-places units.

    On day index ``di`` (0 = first day of the period, D = days in the period)::

        q = base + slope * di // D  (+ jump_add from jump_at on)
        q += round(q * jitter * noise[(offset + di) % N] / 10000)   noise in [-100, 100]
        q = q * weekend_pct // 100 on Saturdays and Sundays (weekend_pct 0: no dip)
    """

    metric: str
    base: int
    slope: int
    jitter: int
    weekend_pct: int
    offset: int
    places: int
    jump_at: int
    jump_add: int


NEVER = 1 << 40  # a day index no range reaches


def metric_spec(
    rng: Random, module: str, metric: Metric, profile: Profile, *, jump_at: int = NEVER
) -> MetricSpec:
    model = model_for(module, metric)
    places = rng.choice((2, 3, 4)) if metric.fractional else 0
    unit = 10**places
    if model.driver == "const":
        base = rng.randint(model.lo, model.hi) * unit
    else:
        ratio = model.lo + below(rng, model.hi - model.lo + 1)
        base = profile.driver(model.driver) * ratio * unit // 1000
    growth = model.growth_lo + below(rng, model.growth_hi - model.growth_lo + 1)
    slope = base * growth // 1000
    jitter = below(rng, model.jitter + 1)
    weekend_pct = 70 + below(rng, 26) if model.weekend and chance(rng, 60) else 0
    jump_add = base * rng.choice((-50, 40, 60, 100, 150)) // 100 if jump_at != NEVER else 0
    return MetricSpec(
        metric=metric.id,
        base=base,
        slope=slope,
        jitter=jitter,
        weekend_pct=weekend_pct,
        offset=rng.getrandbits(16),
        places=places,
        jump_at=jump_at,
        jump_add=jump_add,
    )
