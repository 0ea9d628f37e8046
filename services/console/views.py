"""What every console page and form shares: the signed-in caller, the API with their key,
templates, CSRF-checked forms, and the one-time message a form leaves for the next page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx
import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from services.console.client import Api, ApiProblem
from services.console.session import (
    FLASH_COOKIE,
    SESSION_COOKIE,
    Sealer,
    Session,
    clear_cookie,
    same_token,
    set_cookie,
)
from shared.context import H_REQUEST_ID

ROOT = "/console"
TEMPLATES = Path(__file__).parent / "templates"
NAVIGATION = (
    ("Overview", f"{ROOT}/"),
    ("Modules", f"{ROOT}/modules"),
    ("Mapping", f"{ROOT}/mapping"),
    ("Contracts", f"{ROOT}/contracts"),
    ("Invoices", f"{ROOT}/invoices"),
    ("Receivables", f"{ROOT}/receivables"),
    ("Reconciliation", f"{ROOT}/reconciliation"),
    ("Webhooks", f"{ROOT}/webhooks"),
    ("Insights", f"{ROOT}/insights"),
    ("Audit", f"{ROOT}/audit"),
)
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_FLASH_CHARS = 3800


class SignInNeeded(Exception):
    """No valid session: the browser goes to the sign-in page (and back afterwards)."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class FormRefused(Exception):
    """A form without the session's CSRF token (forged, or from an expired sign-in)."""


@dataclass
class Console:
    """What the gateway holds for the console: templates, cookie sealing, the API client."""

    templates: jinja2.Environment
    sealer: Sealer
    client: httpx.AsyncClient

    def render(
        self, name: str, request: Request, status: int = 200, **context: Any
    ) -> HTMLResponse:
        flash = self.sealer.open_flash(request.cookies.get(FLASH_COOKIE))
        html = self.templates.get_template(name).render(
            request=request, flash=flash, navigation=NAVIGATION, root=ROOT, **context
        )
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        if flash is not None:
            clear_cookie(request, response, FLASH_COOKIE)
        return response


def templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["qty"] = quantity
    env.filters["percent"] = percent
    env.globals["query"] = query_string
    env.tests["negative"] = negative
    env.globals["change"] = change
    return env


def change(value: Any, baseline: Any) -> str:
    """How far a quantity moved from its baseline, in percent (signed)."""
    try:
        now, base = Decimal(str(value)), Decimal(str(baseline))
    except (InvalidOperation, ValueError):
        return ""
    if not base:
        return "new"
    if not now:
        return "stopped (\N{MINUS SIGN}100 %)"
    moved = ((now - base) / base * 100).quantize(Decimal(1))
    return f"{moved:+,} %".replace("-", "\N{MINUS SIGN}") if moved else "0 %"


def negative(value: Any) -> bool:
    try:
        return Decimal(str(value)) < 0
    except (InvalidOperation, ValueError):
        return False


def money(value: Any) -> str:
    """Decimal strings as the API gives them, grouped in thousands for reading."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)
    exponent = number.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return f"{number:,.{places}f}"


def quantity(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return "" if value is None else str(value)
    text = f"{number:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: Any) -> str:
    try:
        return quantity(Decimal(str(value)) * 100) + " %"
    except (InvalidOperation, ValueError):
        return str(value)


def query_string(**params: Any) -> str:
    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return "?" + urlencode(clean) if clean else ""


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


@dataclass
class Page:
    """A signed-in request: who, the API with their key, and the console."""

    request: Request
    session: Session
    api: Api
    console: Console

    def render(self, name: str, **context: Any) -> HTMLResponse:
        return self.console.render(name, self.request, session=self.session, **context)

    def today(self) -> dt.date:
        """Today in the tenant's time zone, where its usage dates and due dates live."""
        try:
            zone = ZoneInfo(self.session.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")
        return dt.datetime.now(zone).date()


async def signed_in(request: Request, console: ConsoleDep) -> Page:
    session = console.sealer.open_session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise SignInNeeded(local_path(request.url.path + _query(request)))
    api = Api(console.client, session.key, request.headers.get(H_REQUEST_ID))
    return Page(request, session, api, console)


SignedIn = Annotated[Page, Depends(signed_in)]


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


def local_path(path: str | None, default: str = f"{ROOT}/") -> str:
    """Only the console's own pages are places to go back to."""
    if path and path.startswith(ROOT + "/") and "//" not in path and "\\" not in path:
        return path
    return default


async def read_form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise FormRefused
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def checked_form(page: Page) -> dict[str, str]:
    form = await read_form(page.request)
    if not same_token(form.get("csrf_token", ""), page.session.csrf):
        raise FormRefused
    return form


@dataclass(frozen=True)
class Upload:
    """A form with one file: its other fields and the file's bytes (empty: none chosen;
    ``too_large``: more than ``MAX_UPLOAD_BYTES``, not read)."""

    form: dict[str, str]
    content: bytes
    filename: str
    too_large: bool = False


async def checked_upload(page: Page, file_field: str) -> Upload:
    """A multipart form with the session's CSRF token and at most one file."""
    try:
        async with page.request.form(max_files=1, max_fields=20) as data:
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            if not same_token(form.get("csrf_token", ""), page.session.csrf):
                raise FormRefused
            chosen = data.get(file_field)
            if chosen is None or isinstance(chosen, str):
                return Upload(form, b"", "")
            content = await chosen.read(MAX_UPLOAD_BYTES + 1)
            name = chosen.filename or ""
            if len(content) > MAX_UPLOAD_BYTES:
                return Upload(form, b"", name, too_large=True)
            return Upload(form, content, name)
    except (HTTPException, MultiPartException) as exc:
        raise FormRefused from exc


def redirect(request: Request, to: str, flash: dict[str, Any] | None = None) -> Response:
    response = RedirectResponse(to, status_code=303, headers=HEADERS)
    if flash is not None:
        sealer = console_of(request).sealer
        sealed = sealer.seal_flash(flash)
        if len(sealed) > MAX_FLASH_CHARS:  # a cookie holds about 4 kB: what was typed goes
            sealed = sealer.seal_flash({k: v for k, v in flash.items() if k != "values"})
        set_cookie(request, response, FLASH_COOKIE, sealed, 600)
    return response


async def act(
    page: Page,
    form: dict[str, str],
    call: Callable[[], Awaitable[Any]],
    done: str | Callable[[Any], str | dict[str, Any]],
    *,
    form_id: str,
    default_back: str,
) -> Response:
    """Runs one API call for a form and goes back to the page it came from, with what
    happened: ``done`` on success (its text, or the one-time message's fields), the API's own
    words (per field where it names one) otherwise."""
    back = local_path(form.get("back"), default_back)
    try:
        answer = await call()
    except ApiProblem as problem:
        if problem.status == 401:
            raise SignInNeeded(back) from problem
        return refuse(page, form, explain(problem), problem.fields, form_id=form_id, back=back)
    said = done(answer) if callable(done) else done
    notice = {"text": said} if isinstance(said, str) else said
    return redirect(page.request, back, {"kind": "notice", "form": form_id, **notice})


def refuse(
    page: Page,
    form: dict[str, str],
    text: str,
    fields: dict[str, str],
    *,
    form_id: str,
    back: str,
) -> Response:
    """Back to the form's page with why it was refused, per field where one is named, and
    what was typed."""
    flash = {
        "kind": "error",
        "text": text,
        "form": form_id,
        "fields": fields,
        "values": {k: v for k, v in form.items() if k != "csrf_token"},
    }
    return redirect(page.request, back, flash)


def explain(problem: ApiProblem) -> str:
    """The API's words, prefixed where the status says more than they do."""
    if problem.status == 403:
        return f"Your key's role may not do this. {problem.message}"
    if problem.status == 429:
        return "Too many requests at once; wait a moment and try again."
    return problem.message


def sign_in_redirect(request: Request, next_path: str) -> Response:
    response = RedirectResponse(f"{ROOT}/sign-in{query_string(next=next_path)}", 303)
    clear_cookie(request, response, SESSION_COOKIE)
    return response
