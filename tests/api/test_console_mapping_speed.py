"""What keeps the console's Mapping pages fast on a big tenant, through the public API: the
company matcher kept between requests (and rebuilt when companies or mappings change), and
the module orgs of a page of companies read in one request."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from services.mapping.matching.cache import MATCHERS
from tests.api.test_mapping_support import TODAY, MappingApi, ok

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

RMM = "datto_rmm"
BACKUP = "datto_bcdr"
DAYS = [TODAY - timedelta(days=1)]


@pytest.fixture
def m(embedded_api: EmbeddedApi) -> MappingApi:
    return MappingApi(embedded_api)


async def suggested(m: MappingApi, org_id: str) -> list[str]:
    [org] = [o for o in await m.module_orgs(status="unmapped") if o["org_id"] == org_id]
    return [s["name"] for s in org["suggestions"]]


async def test_suggestions_follow_new_and_renamed_companies_and_mappings(m: MappingApi) -> None:
    await m.company("Contoso Ltd")
    await m.usage(RMM, "r1", "Fabrikam Inc", "servers", 3, DAYS)
    await m.usage(RMM, "r2", "Northwind Traders", "servers", 3, DAYS)
    await m.usage(BACKUP, "b1", "nwt backup", "appliances", 1, DAYS)
    await m.api.settle()
    assert await suggested(m, "r1") == []
    builds = MATCHERS.builds
    assert await suggested(m, "r1") == []
    assert MATCHERS.builds == builds, "an unchanged tenant rebuilt its matcher"

    fabrikam = await m.company("Fabrikam Incorporated")
    assert await suggested(m, "r1") == ["Fabrikam Incorporated"]

    ok(await m.api.client.patch(f"/v1/companies/{fabrikam}", json={"name": "Fabricam AG"}))
    assert "Fabrikam Incorporated" not in await suggested(m, "r1")
    assert await suggested(m, "r2") == []

    northwind = await m.company("Northwind Traders GmbH")
    assert await suggested(m, "r2") == ["Northwind Traders GmbH"]
    assert await suggested(m, "b1") == []
    # An org mapped to a company is evidence for it: "NWT Backup" is known once mapped.
    await m.usage(RMM, "r3", "NWT Backup", "servers", 1, DAYS)
    await m.api.settle()
    await m.map_org(RMM, "r3", northwind)
    assert await suggested(m, "b1") == ["Northwind Traders GmbH"]
    await m.unmap_org(RMM, "r3")
    assert await suggested(m, "b1") == []


async def test_module_orgs_of_several_companies_in_one_request(m: MappingApi) -> None:
    contoso, fabrikam, other = (
        await m.company("Contoso Ltd"),
        await m.company("Fabrikam Inc"),
        await m.company("Other Ltd"),
    )
    for org_id, name in (("c1", "Contoso"), ("f1", "Fabrikam"), ("o1", "Other"), ("u1", "U")):
        await m.usage(RMM, org_id, name, "servers", 1, DAYS)
    await m.usage(BACKUP, "c2", "Contoso backup", "appliances", 1, DAYS)
    await m.api.settle()
    for module, org_id, company in (
        (RMM, "c1", contoso),
        (BACKUP, "c2", contoso),
        (RMM, "f1", fabrikam),
        (RMM, "o1", other),
    ):
        await m.map_org(module, org_id, company)

    found = await m.module_orgs(company_id=[contoso, fabrikam])
    assert sorted((o["org_id"], o["company_id"]) for o in found) == [
        ("c1", contoso),
        ("c2", contoso),
        ("f1", fabrikam),
    ]
    assert [o["org_id"] for o in await m.module_orgs(company_id=other)] == ["o1"]
    assert await m.module_orgs(company_id="no-such-company") == []

    too_many = await m.api.client.get(
        "/v1/module-orgs", params={"company_id": [str(n) for n in range(101)]}
    )
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["errors"][0]["loc"][-1] == "company_id"


async def test_companies_by_id_in_one_request(m: MappingApi) -> None:
    contoso, fabrikam = await m.company("Contoso Ltd"), await m.company("Fabrikam Inc")
    await m.company("Other Ltd")
    listed = await m.api.client.get("/v1/companies", params={"id": [fabrikam, contoso, "nope"]})
    assert [c["id"] for c in ok(listed)["items"]] == [contoso, fabrikam]
    too_many = await m.api.client.get("/v1/companies", params={"id": [str(n) for n in range(101)]})
    assert too_many.status_code == 422, too_many.text
    assert too_many.json()["errors"][0]["loc"][-1] == "id"
