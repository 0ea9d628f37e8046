"""Loads a sample MSP into a running system through the public API (demo, tests, bench)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import httpx

from tools.sample.generator import SampleMsp
from tools.sample.model import SampleRecord, as_contract_service_json, as_usage_json


class LoadError(RuntimeError):
    pass


@dataclass
class LoadReport:
    company_ids: dict[str, str] = field(default_factory=dict)
    contracts: int = 0
    records: int = 0
    rejected: int = 0
    mapped_orgs: int = 0


RATE_LIMIT_RETRIES = 50


async def _call(client: httpx.AsyncClient, method: str, url: str, body: Any) -> Any:
    """One API call; waits as told by ``Retry-After`` when the key's rate limit answers 429."""
    for _ in range(RATE_LIMIT_RETRIES):
        response = await client.request(method, url, json=body)
        if response.status_code != 429:
            break
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))
    if response.status_code not in (200, 201):
        raise LoadError(f"{method} {url}: {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def batches(records: Iterable[SampleRecord], size: int) -> Iterator[list[dict[str, str]]]:
    it = iter(records)
    while chunk := list(islice(it, size)):
        yield [as_usage_json(r) for r in chunk]


async def load_setup(client: httpx.AsyncClient, msp: SampleMsp, report: LoadReport) -> None:
    """Companies, module billing, service mappings and one contract per company."""
    for company in msp.companies:
        body = {
            "name": company.name,
            "external_ref": company.external_ref,
            "tax_rate": str(company.tax_rate),
            "currency": company.currency,
        }
        created = await _call(client, "POST", "/v1/companies", body)
        report.company_ids[company.key] = created["id"]
    for catalog_module in msp.catalog.modules:
        await _call(
            client,
            "PUT",
            f"/v1/modules/{catalog_module.id}/billing",
            {"enabled": True, "effective_from": msp.period_start.isoformat()},
        )
    for (module, metric), codes in msp.service_mappings().items():
        await _call(
            client, "PUT", f"/v1/service-mappings/{module}/{metric}", {"service_codes": list(codes)}
        )
    for contract in contract_bodies(msp, report.company_ids):
        await _call(client, "POST", "/v1/contracts", contract)
        report.contracts += 1


def contract_bodies(msp: SampleMsp, company_ids: dict[str, str]) -> list[dict[str, Any]]:
    """One contract per company that uses a module, with the services its modules feed;
    ``company_ids`` maps each company's key to its id."""
    modules_of: dict[str, set[str]] = {}
    for org in msp.orgs:
        if org.company_key is not None:
            modules_of.setdefault(org.company_key, set()).add(org.module)
    plan = msp.price_list()
    bodies = []
    for i, company in enumerate(msp.companies):
        used = modules_of.get(company.key, set())
        services = [
            as_contract_service_json(s)
            for s in plan
            if any(module in used for module, _ in s.sources)
        ]
        if not services:
            continue
        # Most contracts run since before the period; every tenth starts on the 15th.
        start = (
            msp.period_start.replace(day=15)
            if i % 10 == 9
            else msp.period_start - dt.timedelta(days=90)
        )
        bodies.append(
            {
                "company_id": company_ids[company.key],
                "name": "Managed services",
                "start_date": start.isoformat(),
                "currency": company.currency,
                "services": services,
            }
        )
    return bodies


async def load_usage(
    client: httpx.AsyncClient,
    msp: SampleMsp,
    report: LoadReport,
    batch_size: int = 5000,
    until: dt.date | None = None,
) -> None:
    """The period's usage, or from its first day through ``until`` (the series go on past
    the period's end)."""
    for batch in batches(msp.records(end=until), batch_size):
        answer = await _call(client, "POST", "/v1/usage", {"records": batch})
        report.records += answer["accepted"] + answer["corrected"] + answer["unchanged"]
        report.rejected += len(answer["rejected"])


async def map_orgs_by_truth(
    client: httpx.AsyncClient,
    msp: SampleMsp,
    report: LoadReport,
    skip: set[tuple[str, str]] | None = None,
    concurrency: int = 1,
) -> None:
    """Maps every org to its true company (what a careful person would do by hand)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(module: str, org_id: str, company_key: str) -> None:
        async with gate:
            await _call(
                client,
                "PUT",
                f"/v1/module-orgs/{module}/{org_id}/mapping",
                {"company_id": report.company_ids[company_key]},
            )
        report.mapped_orgs += 1

    await asyncio.gather(
        *(
            one(org.module, org.org_id, org.company_key)
            for org in msp.orgs
            if org.company_key is not None and not (skip and (org.module, org.org_id) in skip)
        )
    )
