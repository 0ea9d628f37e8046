"""The monthly cycle from the command line: bill a period, post its drafts, export it.

``icb invoices post`` posts the period's regular invoices that are not held; ``--all`` adds
the correction documents (adjustments and credit notes), which change figures a customer
already has and so are posted only when asked for. Held drafts (``hold`` set and not
released) are never posted: the API would refuse them; they are counted and named instead.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from launcher.client import ApiClient, ApiConfig, ApiError, ConfigError, problem_text
from launcher.progress import progress_bar

FINISHED = ("succeeded", "failed")
EXPORT_FORMATS = ("csv", "json", "datev", "xero", "quickbooks")
ACCOUNTING_FORMATS = ("datev", "xero", "quickbooks")


async def billing_run(api: ApiClient, period: str, *, poll: float = 1.0) -> dict[str, Any]:
    """The run's result; a run still going after the API's wait (202) is followed at its
    ``Location`` with a bar of companies billed."""
    response = await api.call("POST", "/v1/billing-runs", json={"period": period})
    if response.status_code != 202:
        result: dict[str, Any] = response.json()
        return result
    location = response.headers["location"]
    state: dict[str, Any] = response.json()
    with progress_bar() as bar:
        task = bar.add_task(f"billing run {period}", total=state.get("companies_total"))
        while state["status"] not in FINISHED:
            bar.update(task, completed=state["companies_billed"], total=state["companies_total"])
            await asyncio.sleep(poll)
            state = await api.json("GET", location)
        bar.update(task, completed=state["companies_billed"], total=state["companies_total"])
    if state["status"] == "failed":
        raise ApiError(f"billing run {state['id']} failed: {problem_text(state['problem'] or {})}")
    done: dict[str, Any] = state["result"]
    return done


def run_line(result: dict[str, Any]) -> str:
    return (
        f"Billing run {result['id']} for {result['period']}: {result['invoices']} invoices, "
        f"{result['corrections']} corrections in draft "
        f"({result.get('created', 0)} created, {result.get('updated', 0)} refreshed)."
    )


@dataclass
class Posting:
    period: str
    posted: list[dict[str, Any]] = field(default_factory=list)
    corrections_left: int = 0
    held: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        numbers = [int(i["number"]) for i in self.posted if i.get("number") is not None]
        span = f" (numbers {min(numbers)}-{max(numbers)})" if numbers else ""
        out = [f"Posted {len(self.posted)} drafts of {self.period}{span}."]
        if self.corrections_left:
            out.append(
                f"Left {self.corrections_left} corrections (adjustments, credit notes) "
                "in draft; --all posts them too."
            )
        if self.held:
            out.append(
                f"Left {len(self.held)} held drafts (release them first): {', '.join(self.held)}"
            )
        out.extend(f"Not posted: {line}" for line in self.failed)
        return out


def _held(invoice: dict[str, Any]) -> bool:
    hold = invoice.get("hold")
    return isinstance(hold, dict) and not hold.get("released_at")


async def post_invoices(api: ApiClient, period: str, *, include_all: bool = False) -> Posting:
    """Posts the period's drafts (see the module's docstring for which); one failing draft
    is reported and the others are still posted."""
    report = Posting(period)
    chosen = []
    async for draft in api.pages("/v1/invoices", {"period": period, "status": "draft"}):
        if _held(draft):
            report.held.append(draft["id"])
        elif draft["kind"] != "invoice" and not include_all:
            report.corrections_left += 1
        else:
            chosen.append(draft)
    with progress_bar() as bar:
        task = bar.add_task(f"posting {period}", total=len(chosen))
        for draft in chosen:
            try:
                report.posted.append(await api.json("POST", f"/v1/invoices/{draft['id']}/post"))
            except ApiError as exc:
                report.failed.append(str(exc))
            bar.advance(task)
    return report


async def export_period(api: ApiClient, fmt: str, period: str) -> bytes:
    """The period's numbered documents as one file: ``GET /v1/invoice-exports`` (csv, json)
    or a bookkeeping import ``GET /v1/exports/{fmt}`` (datev, xero, quickbooks)."""
    if fmt in ACCOUNTING_FORMATS:
        response = await api.call("GET", f"/v1/exports/{fmt}", params={"period": period})
    else:
        response = await api.call(
            "GET", "/v1/invoice-exports", params={"period": period, "format": fmt}
        )
    return response.content


async def _run(args: argparse.Namespace, api: ApiClient) -> int:
    if args.command == "billing":
        print(run_line(await billing_run(api, args.period)))
        return 0
    if args.command == "invoices":
        report = await post_invoices(api, args.period, include_all=args.all)
        print("\n".join(report.lines()))
        return 1 if report.failed else 0
    content = await export_period(api, args.format, args.period)
    if args.output is None:
        sys.stdout.buffer.write(content)
        sys.stdout.flush()
    else:
        await asyncio.to_thread(Path(args.output).write_bytes, content)
        print(f"Wrote {len(content)} bytes to {args.output}.", file=sys.stderr)
    return 0


def run_command(args: argparse.Namespace, transport: httpx.AsyncBaseTransport | None = None) -> int:
    """``icb billing run``, ``icb invoices post``, ``icb export``: 0 when done, 1 when the API
    refused (its problem printed as one line), 2 when the API is not configured."""

    async def go() -> int:
        async with ApiClient(
            ApiConfig.resolve(args.api_url, args.api_key), transport=transport
        ) as api:
            return await _run(args, api)

    try:
        return asyncio.run(go())
    except ApiError as exc:
        print(f"icb: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
