"""Mounts the console on the gateway: its pages under ``/console/``, its own stylesheet and
script under ``/console/static/``, and ``/`` sending browsers there."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from services.console.client import ApiProblem, in_process_client
from services.console.pages import (
    audit,
    auth,
    companies,
    contract_forms,
    contracts,
    credit,
    grid,
    insights,
    invoices,
    mapping,
    modules,
    overview,
    receivables,
    reconciliation,
    webhooks,
)
from services.console.session import SESSION_COOKIE, Sealer, Session
from services.console.views import (
    ROOT,
    Console,
    FormRefused,
    SignInNeeded,
    console_of,
    explain,
    sign_in_redirect,
    templates,
)
from services.gateway.settings import GatewaySettings

STATIC = Path(__file__).parent / "static"
PAGES = (
    auth,
    overview,
    modules,
    mapping,
    grid,
    companies,
    contracts,
    contract_forms,
    invoices,
    credit,
    receivables,
    reconciliation,
    webhooks,
    insights,
    audit,
)


def install(app: FastAPI, settings: GatewaySettings) -> None:
    app.state.console = Console(
        templates(),
        Sealer(settings.internal_secret, settings.console_session_seconds),
        in_process_client(app, settings.upstream_timeout_seconds),
    )
    router = APIRouter(prefix=ROOT, include_in_schema=False)
    for page in PAGES:
        router.include_router(page.router)
    app.include_router(router)
    app.mount(f"{ROOT}/static", StaticFiles(directory=STATIC), name="console-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse(f"{ROOT}/", status_code=307)

    @app.get(ROOT, include_in_schema=False)
    async def console_root() -> RedirectResponse:
        return RedirectResponse(f"{ROOT}/", status_code=307)

    app.add_exception_handler(SignInNeeded, _sign_in)
    app.add_exception_handler(FormRefused, _form_refused)
    app.add_exception_handler(ApiProblem, _api_problem)


async def _sign_in(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    return sign_in_redirect(request, exc.next_path)


def _session(request: Request) -> Session | None:
    """Who is signed in, for the navigation of an error page."""
    return console_of(request).sealer.open_session(request.cookies.get(SESSION_COOKIE))


async def _form_refused(request: Request, _exc: Exception) -> Response:
    return console_of(request).render(
        "error.html",
        request,
        403,
        session=_session(request),
        current="",
        title="Form refused",
        message="This form was not sent from your console session (it may have expired). "
        "Nothing was changed. Go back, reload the page and try again.",
    )


async def _api_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    if exc.status == 401:
        return sign_in_redirect(request, f"{ROOT}/")
    return console_of(request).render(
        "error.html",
        request,
        exc.status if exc.status in (403, 404) else 502,
        session=_session(request),
        current="",
        title="Not found" if exc.status == 404 else "The API refused this page",
        message=explain(exc),
    )
