"""A realistic, deterministic sample MSP for demos, tests and benchmarks.

``generate(seed, companies, period)`` builds:

- customers (``SampleCompany``): unique names from word lists (``words.toml``) in 13
  countries with their legal forms, tax rates and currencies, including namesakes that are
  different customers ("Contoso AG" and "Contoso Immobilien GmbH");
- module organisations (``SampleOrg``) with truth labels, for measuring auto-mapping: names
  spelt the way tools do (case, slugs, legal form dropped or re-spelt, "&"/"and", accents,
  typos, extra words, reordered words, domains), module-specific ids, orgs of nobody (tests,
  the MSP's own, former customers), second sites, mid-period renames, churn, onboarding,
  and a few sudden jumps;
- daily usage streamed by ``SampleMsp.records``: one size profile per customer drives every
  metric (servers < desktops, RMM total = desktops + servers + network devices), slow
  trends, day-to-day jitter, weekend dips of device counts, fractional storage; optional
  failed syncs (``missing_days``);
- a tenant-wide service plan (``SampleMsp.price_list``) covering every catalog metric.

The same arguments always give the same data, independent of hash randomisation.
"""

from __future__ import annotations

from tools.sample.generator import SampleMsp, generate, summary
from tools.sample.model import (
    CountingBasis,
    Pricing,
    SampleCompany,
    SampleOrg,
    SampleRecord,
    SampleService,
    SampleTier,
    as_contract_service_json,
    as_usage_json,
)
from tools.sample.pricing import PRICE_LIST, service_mappings

__all__ = [
    "PRICE_LIST",
    "CountingBasis",
    "Pricing",
    "SampleCompany",
    "SampleMsp",
    "SampleOrg",
    "SampleRecord",
    "SampleService",
    "SampleTier",
    "as_contract_service_json",
    "as_usage_json",
    "generate",
    "service_mappings",
    "summary",
]
