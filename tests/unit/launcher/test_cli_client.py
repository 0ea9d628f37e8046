"""The command line's API client: problems as one line, list shapes, which drafts a period's
posting takes."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from launcher.client import ApiClient, ApiConfig, ApiError, items_of, problem_line
from launcher.cycle import post_invoices


def test_a_problem_is_one_line_with_its_errors() -> None:
    response = httpx.Response(
        422,
        json={
            "type": "https://icb.example/problems/validation",
            "title": "Invalid request",
            "status": 422,
            "detail": "The request is not valid.",
            "errors": [{"loc": ["body", "period"], "msg": "must be a month as YYYY-MM"}],
        },
    )
    assert problem_line(response) == (
        "422 Invalid request: The request is not valid. (body.period: must be a month as YYYY-MM)"
    )


def test_an_answer_that_is_no_problem_shows_status_and_text() -> None:
    assert problem_line(httpx.Response(502, text="<h1>Bad\ngateway</h1>")) == (
        "502 Bad Gateway: <h1>Bad gateway</h1>"
    )


def test_lists_are_read_bare_or_paginated() -> None:
    insight = {"kind": "stale_module", "severity": "critical"}
    assert items_of([insight]) == items_of({"items": [insight], "next_cursor": None}) == [insight]


def test_the_url_defaults_and_the_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ICB_API_URL", raising=False)
    monkeypatch.setenv("ICB_API_KEY", "k1")
    assert ApiConfig.resolve(None, None) == ApiConfig("http://127.0.0.1:8000", "k1")
    monkeypatch.setenv("ICB_API_URL", "http://billing.example/")
    assert ApiConfig.resolve(None, "k2") == ApiConfig("http://billing.example", "k2")
    assert ApiConfig.resolve("http://other:1", None).url == "http://other:1"


async def test_an_unreachable_api_is_one_line() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api = ApiClient(ApiConfig("http://127.0.0.1:9", "k"), transport=httpx.MockTransport(refuse))
    with pytest.raises(ApiError, match=r"^cannot reach the API at http://127.0.0.1:9: "):
        await api.call("GET", "/v1/invoices")


async def test_posting_skips_held_drafts_and_follows_pages() -> None:
    drafts: list[dict[str, Any]] = [
        {"id": "a", "kind": "invoice", "hold": None},
        {"id": "b", "kind": "invoice", "hold": {"reasons": [{}], "released_at": None}},
        {"id": "c", "kind": "invoice", "hold": {"reasons": [{}], "released_at": "2026-11-02"}},
        {"id": "d", "kind": "credit_note"},
    ]
    posted: list[str] = []

    def api(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            assert request.url.params["status"] == "draft"
            first = "cursor" not in request.url.params
            page = drafts[:2] if first else drafts[2:]
            return httpx.Response(200, json={"items": page, "next_cursor": "n" if first else None})
        invoice_id = request.url.path.split("/")[3]
        if invoice_id == "c":
            return httpx.Response(
                409,
                json={"title": "Conflict", "status": 409, "detail": "c cannot be posted"},
            )
        posted.append(invoice_id)
        return httpx.Response(200, json={"id": invoice_id, "number": len(posted)})

    async with ApiClient(ApiConfig("http://x", "k"), transport=httpx.MockTransport(api)) as client:
        report = await post_invoices(client, "2026-10")
    assert posted == ["a"]
    assert (report.held, report.corrections_left) == (["b"], 1)
    assert report.failed == ["POST /v1/invoices/c/post: 409 Conflict: c cannot be posted"]
    assert report.lines() == [
        "Posted 1 drafts of 2026-10 (numbers 1-1).",
        "Left 1 corrections (adjustments, credit notes) in draft; --all posts them too.",
        "Left 1 held drafts (release them first): b",
        "Not posted: POST /v1/invoices/c/post: 409 Conflict: c cannot be posted",
    ]
    assert json.dumps(report.posted)
