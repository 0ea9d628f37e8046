"""Sign-in with an API key, exchanged for a sealed session cookie; sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.console.client import Api, ApiProblem
from services.console.session import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Session,
    clear_cookie,
    new_csrf,
    same_token,
    set_cookie,
)
from services.console.views import (
    ROOT,
    ConsoleDep,
    FormRefused,
    SignedIn,
    checked_form,
    local_path,
    read_form,
    redirect,
)

router = APIRouter()
CONSOLE_ROLES = frozenset({"admin", "billing", "viewer"})


def _form(
    request: Request, console: ConsoleDep, next_path: str, error: str | None, status: int = 200
) -> Response:
    token = new_csrf()
    response = console.render(
        "sign_in.html",
        request,
        status,
        session=None,
        csrf=token,
        next_path=next_path,
        error=error,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token, 3600)
    return response


@router.get("/sign-in")
async def sign_in_page(request: Request, console: ConsoleDep, next: str = "") -> Response:
    return _form(request, console, local_path(next), None)


@router.post("/sign-in")
async def sign_in(request: Request, console: ConsoleDep) -> Response:
    form = await read_form(request)
    # Double submit: the form's token must match the cookie the sign-in page set.
    if not same_token(form.get("csrf_token", ""), request.cookies.get(SIGN_IN_COOKIE, "")):
        raise FormRefused
    next_path = local_path(form.get("next"))
    key = form.get("api_key", "").strip()
    if not key:
        return _form(request, console, next_path, "Enter your API key.", 422)
    try:
        me = await Api(console.client, key, None).get("/v1/api-keys/current")
    except ApiProblem as problem:
        if problem.status == 401:
            return _form(request, console, next_path, "This API key is unknown or revoked.", 401)
        raise
    if me["role"] not in CONSOLE_ROLES:
        return _form(
            request,
            console,
            next_path,
            "This key may only send usage; sign in with an admin, billing or viewer key.",
            403,
        )
    session = Session(
        key=key, key_id=me["id"], role=me["role"], csrf=new_csrf(), timezone=me["timezone"]
    )
    response = redirect(request, next_path)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        console.sealer.seal_session(session),
        console.sealer.max_age,
    )
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


@router.post("/sign-out")
async def sign_out(page: SignedIn) -> Response:
    await checked_form(page)
    response = redirect(page.request, f"{ROOT}/sign-in")
    clear_cookie(page.request, response, SESSION_COOKIE)
    return response
