from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, field_validator

from shared.problems import (
    PROBLEM_JSON,
    PROBLEM_TYPES,
    Conflict,
    NotFound,
    Problem,
    TooManyRequests,
    ValidationFailed,
    install_problem_handlers,
    invalid,
    plain_message,
)


class Item(BaseModel):
    name: str
    count: int


class Period(BaseModel):
    period: str
    label: str = ""

    @field_validator("period")
    @classmethod
    def _month(cls, value: str) -> str:
        if value[5:] > "12":
            raise ValueError("not a month of the form YYYY-MM")
        return value

    @field_validator("label")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value) > 4:
            raise AssertionError("at most 4 characters")
        return value


def make_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/companies/{company_id}")
    async def company(company_id: str) -> dict[str, str]:
        raise NotFound(f"No company {company_id}.")

    @app.get("/limited")
    async def limited() -> dict[str, str]:
        raise TooManyRequests("Slow down.", headers={"Retry-After": "3"})

    @app.post("/items")
    async def items(item: Item) -> Item:
        return item

    @app.post("/periods")
    async def periods(period: Period) -> Period:
        return period

    @app.get("/teapot")
    async def teapot() -> dict[str, str]:
        raise HTTPException(status_code=418, detail="I'm a teapot")

    @app.get("/conflict-http")
    async def conflict_http() -> dict[str, str]:
        raise HTTPException(status_code=409, detail="Already there")

    @app.get("/boom")
    async def boom() -> dict[str, str]:
        raise RuntimeError("secret connection string")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc.test") as c:
        yield c


def test_body_has_the_rfc_9457_members() -> None:
    problem = Conflict("Invoice already posted.")
    assert problem.body("/v1/invoices/7") == {
        "type": "/problems/conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "Invoice already posted.",
        "instance": "/v1/invoices/7",
    }
    assert str(problem) == "Invoice already posted."


def test_detail_defaults_to_the_title_and_errors_are_optional() -> None:
    assert NotFound().body() == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Not found",
    }


def test_invalid_builds_a_422_with_the_location() -> None:
    problem = invalid(["query", "cursor"], "not a cursor this API issued")
    assert isinstance(problem, ValidationFailed)
    assert problem.body() == {
        "type": "/problems/validation-error",
        "title": "Invalid request",
        "status": 422,
        "detail": "not a cursor this API issued",
        "errors": [{"loc": ["query", "cursor"], "msg": "not a cursor this API issued"}],
    }


async def test_problem_is_rendered_as_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/companies/c-1")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No company c-1.",
        "instance": "/companies/c-1",
    }


async def test_problem_headers_are_sent(client: httpx.AsyncClient) -> None:
    response = await client.get("/limited")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    assert response.json()["type"] == "/problems/rate-limited"


async def test_request_validation_is_a_422_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "x", "count": "many"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert (body["type"], body["title"], body["status"], body["instance"]) == (
        "/problems/validation-error",
        "Invalid request",
        422,
        "/items",
    )
    assert [e["loc"] for e in body["errors"]] == [["body", "count"]]
    assert body["detail"].startswith("body.count: ")


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nowhere")
    assert (missing.status_code, missing.headers["content-type"]) == (404, PROBLEM_JSON)
    assert missing.json() == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Not Found",
        "instance": "/nowhere",
    }
    wrong = await client.delete("/items")
    assert (wrong.status_code, wrong.headers["content-type"]) == (405, PROBLEM_JSON)
    assert wrong.json()["type"] == "/problems/method-not-allowed"


async def test_http_exception_maps_to_its_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/conflict-http")
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/conflict"
    assert response.json()["detail"] == "Already there"


async def test_http_exception_without_a_problem_class(client: httpx.AsyncClient) -> None:
    response = await client.get("/teapot")
    assert (response.status_code, response.headers["content-type"]) == (418, PROBLEM_JSON)
    assert response.json() == {
        "type": "/problems/http-error",
        "title": "I'm a teapot",
        "status": 418,
        "detail": "I'm a teapot",
        "instance": "/teapot",
    }


async def test_unexpected_error_is_a_500_without_internals(client: httpx.AsyncClient) -> None:
    response = await client.get("/boom")
    assert (response.status_code, response.headers["content-type"]) == (500, PROBLEM_JSON)
    assert response.json() == {
        "type": "/problems/internal-error",
        "title": "Internal error",
        "status": 500,
        "detail": "An unexpected error occurred.",
        "instance": "/boom",
    }
    assert "secret" not in response.text


def test_problem_subclasses_have_distinct_slugs() -> None:
    classes = Problem.__subclasses__()
    assert len({c.slug for c in classes}) == len(classes)
    assert len({c.status for c in classes}) == len(classes)


async def test_validator_messages_come_without_pydantic_wording(client: httpx.AsyncClient) -> None:
    response = await client.post("/periods", json={"period": "2026-13", "label": "too long"})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"] == [
        {"loc": ["body", "period"], "msg": "not a month of the form YYYY-MM"},
        {"loc": ["body", "label"], "msg": "at most 4 characters"},
    ]
    assert body["detail"] == (
        "body.period: not a month of the form YYYY-MM; body.label: at most 4 characters"
    )
    for wording in ("Value error", "Assertion failed", "assert "):
        assert wording not in response.text


def test_plain_message_keeps_messages_pydantic_did_not_wrap() -> None:
    assert plain_message("Value error, must be positive") == "must be positive"
    assert plain_message("Input should be a valid integer") == "Input should be a valid integer"
    assert plain_message("Field required") == "Field required"


def test_problem_classes_take_status_and_title_from_the_registry() -> None:
    for cls in (Conflict, NotFound, TooManyRequests, ValidationFailed):
        kind = PROBLEM_TYPES[cls.slug]
        assert (cls.status, cls.title, cls().body()["type"]) == (kind.status, kind.title, kind.uri)


def test_a_problem_type_without_a_registry_entry_is_refused() -> None:
    with pytest.raises(TypeError, match=r"not in shared\.problems\.PROBLEM_TYPES"):

        class Unregistered(Problem):
            slug = "no-page-for-this"

    with pytest.raises(TypeError, match="differs from the registered"):

        class Misnamed(Conflict):
            title = "Something else"
