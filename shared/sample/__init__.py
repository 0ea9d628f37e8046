"""A realistic, deterministic sample MSP for demos, tests and benchmarks.

``generate(seed, companies, period)`` builds customers, the organisations each module knows
them by (with truth labels, for measuring auto-mapping), daily usage streamed by
``SampleMsp.records`` and a tenant-wide service plan (``SampleMsp.price_list``).
"""

from __future__ import annotations

from shared.sample.generator import SampleMsp, generate, summary
from shared.sample.model import (
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
from shared.sample.pricing import PRICE_LIST, service_mappings

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
