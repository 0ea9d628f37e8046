"""The console on the real stack (the gateway as its own process, in front of the three
services on Kafka and PostgreSQL): signed in over HTTP, every page answers, and an org
mapped from the queue is mapped in the mapping service."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from tests.support.polling import wait_for
from tests.support.stack import Stack

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = (
    "/console/",
    "/console/modules",
    "/console/mapping",
    "/console/mapping/grid",
    "/console/mapping/services",
    "/console/contracts",
    "/console/invoices",
    "/console/insights",
    "/console/audit",
)


async def test_the_console_signs_in_and_maps_an_org_on_the_real_stack(stack: Stack) -> None:
    tenant = await stack.new_tenant()
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    async with stack.client(tenant.key) as api:
        company = (await api.post("/v1/companies", json={"name": "Northwind Traders"})).json()
        record = {
            "module": "passly",
            "org_id": "nw-1",
            "org_name": "NORTHWIND TRADERS LTD",
            "metric": "users",
            "date": yesterday,
            "quantity": "12",
        }
        assert (await api.post("/v1/usage", json={"records": [record]})).status_code == 200

        async def discovered() -> bool:
            found = await api.get("/v1/module-orgs", params={"status": "unmapped"})
            return any(o["org_id"] == "nw-1" for o in found.json()["items"])

        await wait_for(discovered, 60, "the org discovered by mapping")

        async with httpx.AsyncClient(base_url=stack.url("gateway"), timeout=60) as browser:
            assert (await browser.get("/")).headers["location"] == "/console/"
            form = await browser.get("/console/sign-in")
            token = CSRF.search(form.text)
            assert token is not None
            signed = await browser.post(
                "/console/sign-in", data={"csrf_token": token.group(1), "api_key": tenant.key}
            )
            assert signed.status_code == 303
            for path in PAGES:
                page = await browser.get(path)
                assert page.status_code == 200, (path, page.text[:300])
            queue = await browser.get("/console/mapping")
            assert "NORTHWIND TRADERS LTD" in queue.text
            session_token = CSRF.search(queue.text)
            assert session_token is not None
            mapped = await browser.post(
                "/console/mapping/org",
                data={
                    "csrf_token": session_token.group(1),
                    "module": "passly",
                    "org_id": "nw-1",
                    "org_name": "NORTHWIND TRADERS LTD",
                    "company_id": company["id"],
                    "action": "map",
                },
            )
            assert mapped.status_code == 303
            assert "is mapped" in (await browser.get(mapped.headers["location"])).text
        orgs = await api.get(f"/v1/companies/{company['id']}/module-orgs")
        assert [o["org_id"] for o in orgs.json()["items"]] == ["nw-1"]
