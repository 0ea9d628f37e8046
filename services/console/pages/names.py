"""Company names for lists the API answers with company ids only."""

from __future__ import annotations

from collections.abc import Iterable

from services.console.client import Api, gather


async def company_names(api: Api, ids: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(ids))
    found = await gather(api.get_or_none(f"/v1/companies/{i}") for i in wanted)
    return {i: c["name"] for i, c in zip(wanted, found, strict=True) if c}
