"""Searching companies and module orgs by name (``q``): case-insensitive for every letter,
and the characters ``%`` and ``_`` are only themselves, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.api.test_mapping_support import MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

NAMES = ("Ärzte am Markt", "ärmel & Co", "B_Side", "B Side", "100% IT", "Zeta")
SEARCHES = {
    "ärz": {"Ärzte am Markt"},
    "ÄRM": {"ärmel & Co"},
    "b_": {"B_Side"},
    "_": {"B_Side"},
    "%": {"100% IT"},
    "side": {"B_Side", "B Side"},
}


@pytest.fixture
def mapping(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


@pytest.mark.parametrize(("q", "found"), SEARCHES.items(), ids=list(SEARCHES))
async def test_company_search(mapping: MappingApi, q: str, found: set[str]) -> None:
    for name in NAMES:
        await mapping.company(name)
    page = ok(await mapping.api.client.get("/v1/companies", params={"q": q}))
    assert {c["name"] for c in page["items"]} == found


async def test_module_org_search(mapping: MappingApi) -> None:
    for i, name in enumerate(NAMES):
        await mapping.usage("datto_rmm", f"org-{i}", name, "servers", 1)
    await mapping.api.settle()
    for q, found in SEARCHES.items():
        page = ok(await mapping.api.client.get("/v1/module-orgs", params={"q": q}))
        assert {o["org_name"] for o in page["items"]} == found, q
