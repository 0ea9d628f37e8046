"""Resolution of a usage record: its company (org mapping) and its services (service mapping).

Pure: the caller loads the mappings that concern a batch, this decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from shared.events import ResolvedUsage

OrgKey = tuple[str, str]  # (module, org_id)
MetricKey = tuple[str, str]  # (module, metric)


@dataclass(frozen=True)
class OrgTarget:
    company_id: str | None
    excluded: bool


@dataclass
class Resolver:
    orgs: dict[OrgKey, OrgTarget] = field(default_factory=dict)
    tenant_services: dict[MetricKey, tuple[str, ...]] = field(default_factory=dict)
    company_services: dict[tuple[str, str, str], tuple[str, ...]] = field(default_factory=dict)

    def services(self, module: str, metric: str, company_id: str) -> tuple[str, ...]:
        override = self.company_services.get((module, metric, company_id))
        if override is not None:
            return override
        return self.tenant_services.get((module, metric), ())

    def resolve(
        self, module: str, org_id: str, metric: str, day: date, quantity: Decimal, version: int
    ) -> ResolvedUsage:
        target = self.orgs.get((module, org_id))
        base = {"module": module, "org_id": org_id, "metric": metric, "date": day,
                "quantity": quantity, "version": version}
        if target is None or (target.company_id is None and not target.excluded):
            return ResolvedUsage(status="unmapped", **base)
        if target.excluded:
            return ResolvedUsage(status="excluded", **base)
        assert target.company_id is not None
        return ResolvedUsage(
            status="mapped",
            company_id=target.company_id,
            service_codes=self.services(module, metric, target.company_id),
            **base,
        )
