"""Queries over module orgs and their mapping state."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Select, and_, select

from services.mapping.models import ModuleOrgRow, OrgMappingRow
from services.mapping.resolution.rules import MappingStatus, OrgTarget, status_of

ORG_ORDER = [ModuleOrgRow.module.expression, ModuleOrgRow.org_id.expression]


def mapping_status(mapping: OrgMappingRow | None) -> MappingStatus:
    return status_of(None if mapping is None else OrgTarget(mapping.company_id, mapping.excluded))


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


def with_status(query: Select[Any], status: MappingStatus) -> Select[Any]:
    if status == MappingStatus.UNMAPPED:
        return query.where(
            OrgMappingRow.org_id.is_(None)
            | (OrgMappingRow.company_id.is_(None) & ~OrgMappingRow.excluded)
        )
    if status == MappingStatus.MAPPED:
        return query.where(OrgMappingRow.company_id.is_not(None), ~OrgMappingRow.excluded)
    return query.where(OrgMappingRow.excluded)
