"""Queries over module orgs and their mapping state."""

from __future__ import annotations

from typing import Any, Literal, cast

from sqlalchemy import Select, and_, select

from services.mapping.models import ModuleOrgRow, OrgMappingRow

Status = Literal["unmapped", "mapped", "excluded"]
ORG_ORDER = [ModuleOrgRow.module.expression, ModuleOrgRow.org_id.expression]


def status_of(mapping: OrgMappingRow | None) -> Status:
    if mapping is None or (mapping.company_id is None and not mapping.excluded):
        return "unmapped"
    return "excluded" if mapping.excluded else "mapped"


def org_query(tenant_id: str) -> Select[Any]:
    """``(ModuleOrgRow, OrgMappingRow | None)`` rows of the tenant."""
    query = (
        select(ModuleOrgRow, OrgMappingRow)
        .outerjoin(
            OrgMappingRow,
            and_(
                OrgMappingRow.tenant_id == ModuleOrgRow.tenant_id,
                OrgMappingRow.module == ModuleOrgRow.module,
                OrgMappingRow.org_id == ModuleOrgRow.org_id,
            ),
        )
        .where(ModuleOrgRow.tenant_id == tenant_id)
    )
    return cast(Select[Any], query)


def with_status(query: Select[Any], status: Status) -> Select[Any]:
    if status == "unmapped":
        return query.where(
            OrgMappingRow.org_id.is_(None)
            | (OrgMappingRow.company_id.is_(None) & ~OrgMappingRow.excluded)
        )
    if status == "mapped":
        return query.where(OrgMappingRow.company_id.is_not(None), ~OrgMappingRow.excluded)
    return query.where(OrgMappingRow.excluded)
