"""Resolution of a usage record: its company (org mapping) and its services (service mapping).

Pure: the caller loads the mappings that concern a batch, this decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter

from shared.events import ResolvedUsage

OrgKey = tuple[str, str]  # (module, org_id)
MetricKey = tuple[str, str]  # (module, metric)


class MappingStatus(StrEnum):
    """Where an org's usage goes; the values are those of ``usage.resolved`` records."""

    UNMAPPED = "unmapped"
    MAPPED = "mapped"
    EXCLUDED = "excluded"


@dataclass(frozen=True)
class OrgTarget:
    company_id: str | None
    excluded: bool

    @property
    def status(self) -> MappingStatus:
        if self.excluded:
            return MappingStatus.EXCLUDED
        return MappingStatus.UNMAPPED if self.company_id is None else MappingStatus.MAPPED


def status_of(target: OrgTarget | None) -> MappingStatus:
    return MappingStatus.UNMAPPED if target is None else target.status


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

    def _resolution(self, module: str, org_id: str, metric: str) -> dict[str, Any]:
        """The fields every record of ``(module, org_id, metric)`` resolves to."""
        fields: dict[str, Any] = {"module": module, "org_id": org_id, "metric": metric}
        target = self.orgs.get((module, org_id))
        fields["status"] = status = status_of(target)
        if status is MappingStatus.MAPPED:
            assert target is not None and target.company_id is not None
            fields["company_id"] = target.company_id
            fields["service_codes"] = self.services(module, metric, target.company_id)
        return fields

    def resolve(
        self, module: str, org_id: str, metric: str, day: date, quantity: Decimal, version: int
    ) -> ResolvedUsage:
        return ResolvedUsage(
            **self._resolution(module, org_id, metric),
            date=day,
            quantity=quantity,
            version=version,
        )

    def resolve_all(self, rows: Iterable[UsageKeyed]) -> list[ResolvedUsage]:
        """``resolve`` for many records at once: the resolution of each ``(module, org_id,
        metric)`` is decided once and the whole list validated in one call, several times
        faster than record by record when whole histories are re-resolved."""
        decided: dict[tuple[str, str, str], dict[str, Any]] = {}
        items = []
        for module, org_id, metric, day, quantity, version in rows:
            fields = decided.get((module, org_id, metric))
            if fields is None:
                fields = decided[(module, org_id, metric)] = self._resolution(
                    module, org_id, metric
                )
            items.append({**fields, "date": day, "quantity": quantity, "version": version})
        return _RESOLVED.validate_python(items)


# (module, org_id, metric, day, quantity, version)
UsageKeyed = tuple[str, str, str, date, Decimal, int]
_RESOLVED = TypeAdapter(list[ResolvedUsage])
