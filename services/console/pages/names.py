"""Company names for lists the API answers with company ids only: one request per page."""

from __future__ import annotations

from collections.abc import Iterable

from services.console.client import Api

MAX_IDS = 100


async def company_names(api: Api, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    names: dict[str, str] = {}
    for start in range(0, len(wanted), MAX_IDS):
        part = wanted[start : start + MAX_IDS]
        listed = await api.get_or_none("/v1/companies", id=part, limit=MAX_IDS)
        names.update({c["id"]: c["name"] for c in (listed or {}).get("items", ())})
    return names
