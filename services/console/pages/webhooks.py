"""Webhooks (admin): the endpoints that receive the public events, creating one (its secret
shown once), deleting one, and per endpoint its delivery log with "Retry" for deliveries that
did not get through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from services.console.client import Api, ApiProblem
from services.console.views import (
    ROOT,
    SignedIn,
    act,
    checked_form,
    refuse,
)

router = APIRouter()
PAGE = f"{ROOT}/webhooks"
DELIVERIES_PAGE_SIZE = 50
CREATE_FORM = "webhook-create"
EVENT_PREFIX = "event:"


MEANING = {
    "invoice.posted": "an invoice, adjustment or credit note is posted",
    "invoice.paid": "an invoice's balance reached 0",
    "invoice.voided": "an invoice is voided",
    "payment.recorded": "a payment is recorded",
    "payment.reversed": "a payment is undone",
    "credit_note.applied": "a credit note is set against an invoice",
    "credit_note.refunded": "a credit note is paid out to the customer",
}
"""Each event type in a clerk's words; the types themselves come from the API."""


@dataclass(frozen=True)
class EventType:
    name: str
    summary: str


_EVENT_TYPES: dict[str, tuple[EventType, ...]] = {}


async def event_types(api: Api) -> tuple[EventType, ...]:
    """The public event types a webhook can receive, from the API's AsyncAPI document (the
    same for every tenant, so read once)."""
    if "all" not in _EVENT_TYPES:
        document = await api.get("/asyncapi.json")
        messages = document.get("components", {}).get("messages", {}).values()
        names = sorted({str(m["name"]) for m in messages})
        _EVENT_TYPES["all"] = tuple(EventType(n, MEANING.get(n, "")) for n in names)
    return _EVENT_TYPES["all"]


def endpoint_page(webhook_id: str) -> str:
    return f"{PAGE}/{quote(webhook_id, safe='')}"


def admin_only(page: SignedIn, title: str) -> HTMLResponse:
    return page.render("webhooks.html", title=title, current="Webhooks", endpoints=None)


@router.get("/webhooks")
async def webhooks(page: SignedIn) -> HTMLResponse:
    if not page.session.is_admin:
        return admin_only(page, "Webhooks")
    endpoints, more = await page.api.items("/v1/webhooks", 5, limit=100)
    return page.render(
        "webhooks.html",
        title="Webhooks",
        current="Webhooks",
        endpoints=endpoints,
        more=more,
        events=await event_types(page.api),
        form_id=CREATE_FORM,
        event_prefix=EVENT_PREFIX,
    )


@router.post("/webhooks")
async def create(page: SignedIn) -> Response:
    form = await checked_form(page)
    events = [k.removeprefix(EVENT_PREFIX) for k in form if k.startswith(EVENT_PREFIX)]
    if not events:
        return refuse(
            page,
            form,
            "Nothing was created.",
            {"events": "choose at least one event to send"},
            form_id=CREATE_FORM,
            back=PAGE,
        )
    body = {
        "url": form.get("url", "").strip(),
        "events": events,
        "description": form.get("description", "").strip() or None,
    }

    def created(answer: dict[str, Any]) -> dict[str, Any]:
        """The secret travels once, in the sealed one-time message, to the next page."""
        return {
            "text": f"The webhook endpoint {answer['url']} is created.",
            "secret": answer["secret"],
            "secret_for": answer["id"],
        }

    return await act(
        page,
        form,
        lambda: page.api.send("POST", "/v1/webhooks", body),
        created,
        form_id=CREATE_FORM,
        default_back=PAGE,
    )


@router.post("/webhooks/{webhook_id}/delete")
async def delete(page: SignedIn, webhook_id: str) -> Response:
    form = await checked_form(page)
    return await act(
        page,
        form,
        lambda: page.api.send("DELETE", f"/v1/webhooks/{quote(webhook_id, safe='')}"),
        "The webhook endpoint is deleted; nothing more is sent to it.",
        form_id=f"delete-{webhook_id}",
        default_back=PAGE,
    )


@router.get("/webhooks/{webhook_id}")
async def endpoint(page: SignedIn, webhook_id: str, cursor: str = "") -> HTMLResponse:
    if not page.session.is_admin:
        return admin_only(page, "Webhook")
    path = f"/v1/webhooks/{quote(webhook_id, safe='')}"
    deliveries = await page.api.get(f"{path}/deliveries", limit=DELIVERIES_PAGE_SIZE, cursor=cursor)
    endpoints, _ = await page.api.items("/v1/webhooks", 5, limit=100)
    found = next((e for e in endpoints if e["id"] == webhook_id), None)
    if found is None:
        raise ApiProblem(404, f"No webhook endpoint {webhook_id}.")
    return page.render(
        "webhook.html",
        title="Webhook deliveries",
        current="Webhooks",
        endpoint=found,
        deliveries=deliveries["items"],
        next_cursor=deliveries.get("next_cursor"),
        params={"cursor": cursor},
    )


def retried(delivery: dict[str, Any]) -> str:
    if delivery["status"] == "succeeded":
        return "Delivered: the endpoint accepted the event."
    last = (delivery.get("log") or [{}])[-1]
    answer = (
        f"answered {last['response_status']}"
        if last.get("response_status") is not None
        else f"did not answer ({last.get('error') or 'no response'})"
    )
    then = (
        "No automatic attempts are left; retry again once the receiver is fixed."
        if delivery["status"] == "failed"
        else "Automatic attempts continue."
    )
    return f"Tried again: the endpoint {answer}. {then}"


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry")
async def retry(page: SignedIn, webhook_id: str, delivery_id: str) -> Response:
    form = await checked_form(page)
    path = (
        f"/v1/webhooks/{quote(webhook_id, safe='')}/deliveries/{quote(delivery_id, safe='')}/retry"
    )
    return await act(
        page,
        form,
        lambda: page.api.send("POST", path),
        retried,
        form_id=f"retry-{delivery_id}",
        default_back=endpoint_page(webhook_id),
    )
