"""RFC 9457 problem details: errors carry their own status, rendered by one handler.

Every problem type the system answers with is registered in :data:`PROBLEM_TYPES`: the
problems take their status and title from there, and the gateway serves each type's page at
the path its ``type`` URI names, so a client following the URI learns what went wrong and
what to do."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "/problems/"


@dataclass(frozen=True)
class ProblemType:
    """One kind of problem, for people: what it means and what to do about it."""

    slug: str
    status: int | None  # None: the answer's own HTTP status
    title: str
    meaning: str
    remedy: str

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.slug


_TYPES = (
    ProblemType(
        "bad-request",
        400,
        "Bad request",
        "The request could not be understood: its syntax, headers or parameters do not fit "
        "what the endpoint accepts.",
        "Read `detail`, correct the request and send it again.",
    ),
    ProblemType(
        "unauthorized",
        401,
        "Missing or invalid API key",
        "The request carried no API key, or one that is unknown or revoked.",
        "Send `Authorization: Bearer <api key>` with an active key. An admin creates keys "
        "with `POST /v1/api-keys`.",
    ),
    ProblemType(
        "forbidden",
        403,
        "Not allowed for this role",
        "The API key is valid, but its role (admin, billing, ingest or viewer) may not call "
        "this endpoint.",
        "Use a key whose role allows the operation; the API documentation names the roles of "
        "every operation.",
    ),
    ProblemType(
        "not-found",
        404,
        "Not found",
        "The endpoint or the resource does not exist. A resource of another tenant answers "
        "the same way as one that does not exist.",
        "Check the path and the id; list the resources to find the right id.",
    ),
    ProblemType(
        "method-not-allowed",
        405,
        "Method not allowed",
        "The path exists, but not with this HTTP method.",
        "Use one of the methods the API documentation lists for the path.",
    ),
    ProblemType(
        "not-acceptable",
        406,
        "Not acceptable",
        "None of the media types in the `Accept` header can be produced for this resource.",
        "Ask for a media type the endpoint offers (for invoices: `application/json`, "
        "`text/csv` or `application/pdf`), or leave `Accept` out.",
    ),
    ProblemType(
        "conflict",
        409,
        "Conflict",
        "The request contradicts the current state: a duplicate, a change the lifecycle does "
        "not allow, or a resource that is in use.",
        "Read `detail`, fetch the resource's current state and decide again.",
    ),
    ProblemType(
        "payment-exceeds-balance",
        409,
        "Payment exceeds the balance",
        "The payment's amount is larger than what is still open on the invoice.",
        "Record at most the invoice's `balance`; book an overpayment outside the invoice.",
    ),
    ProblemType(
        "duplicate-payment",
        409,
        "Payment already recorded",
        "A payment with this reference is already recorded on the invoice.",
        "Nothing to do if it is the same payment; otherwise give the payment its own reference.",
    ),
    ProblemType(
        "credit-exceeds-open-amount",
        409,
        "Credit exceeds what is open",
        "The amount to apply or refund is larger than the credit note's `unapplied` credit, "
        "or than the balance of the invoice it is applied to.",
        "Apply or refund at most the smaller of the credit note's `unapplied` and the "
        "invoice's `balance`.",
    ),
    ProblemType(
        "seller-profile-required",
        409,
        "Seller profile required",
        "A posted invoice never changes and must name its seller, and the tenant has no "
        "seller profile yet.",
        "Set the seller profile with `PUT /v1/seller-profile` (name, address, tax id, "
        "payment terms), then post again.",
    ),
    ProblemType(
        "invoice-held",
        409,
        "Invoice held for review",
        "The draft has a line whose quantity differs from the company's usual quantity of "
        "that service (the median of its last three invoiced periods) by more than the "
        "tenant's anomaly settings allow, or a service that stopped; `hold.reasons` on the "
        "invoice names each line with its quantity and baseline.",
        "Check the quantities (a vendor glitch, a broken sync, a real change), then release "
        "the draft with `POST /v1/invoices/{id}/release {note}` and post it again.",
    ),
    ProblemType(
        "payload-too-large",
        413,
        "Payload too large",
        "The request body is larger than the gateway accepts.",
        "Split the data into several requests (usage: at most 10,000 records per request).",
    ),
    ProblemType(
        "unsupported-media-type",
        415,
        "Unsupported media type",
        "The body's `Content-Type` is not one the endpoint reads.",
        "Send the body in a media type the API documentation lists for the endpoint.",
    ),
    ProblemType(
        "validation-error",
        422,
        "Invalid request",
        "The request is well-formed but some values are not valid. `errors` lists each one "
        'with `loc` (where it is, e.g. `["body", "period"]`) and `msg` (what is wrong).',
        "Correct the values `errors` names and send the request again.",
    ),
    ProblemType(
        "connection-refused",
        422,
        "The module refused the connection",
        "Saving or testing a module connection tried the module's usage API once and it did "
        "not accept the request; nothing was saved. `reason` says where to look: "
        "`credentials_refused` (the module answered 401 or 403), `unreachable` (no answer from "
        "`base_url` in time) or `unexpected_answer` (something answered that is not the "
        "module's usage API). `module` and `base_url` name the connection tried.",
        "Check the credentials in the module's admin console and the URL, then try again with "
        "`POST /v1/modules/{module}/connection/test` before saving.",
    ),
    ProblemType(
        "rate-limited",
        429,
        "Too many requests",
        "The API key sent more requests than its limit allows.",
        "Wait the seconds the `Retry-After` header names, then send the request again.",
    ),
    ProblemType(
        "internal-error",
        500,
        "Internal error",
        "Something failed inside the system that the request could not have avoided.",
        "Try again later. If it persists, report it with the `X-Request-ID` of the answer.",
    ),
    ProblemType(
        "bad-gateway",
        502,
        "Upstream service failed",
        "The gateway reached the service that owns the endpoint, but it failed to answer properly.",
        "Try again shortly. If it persists, report it with the `X-Request-ID` of the answer.",
    ),
    ProblemType(
        "service-unavailable",
        503,
        "Service unavailable",
        "A service the request needs is not reachable or not ready (starting, or without "
        "its database or message bus).",
        "Wait the seconds the `Retry-After` header names, then send the request again; "
        "`GET /readyz` tells when every part is ready.",
    ),
    ProblemType(
        "gateway-timeout",
        504,
        "Upstream service timed out",
        "The service that owns the endpoint did not answer in time. The request may still "
        "take effect.",
        "Check whether it did (e.g. list the resources) before sending it again.",
    ),
    ProblemType(
        "http-error",
        None,
        "HTTP error",
        "An HTTP error without a more specific problem type; `title` and `status` of the "
        "answer say which.",
        "Read `title` and `detail` and correct the request accordingly.",
    ),
)
PROBLEM_TYPES: dict[str, ProblemType] = {t.slug: t for t in _TYPES}


def _registered(slug: str, owner: str) -> ProblemType:
    kind = PROBLEM_TYPES.get(slug)
    if kind is None or kind.status is None:
        raise TypeError(
            f"{owner}: problem type {slug!r} is not in shared.problems.PROBLEM_TYPES; "
            "register it there (title, status, meaning, remedy) so its page exists"
        )
    return kind


_INTERNAL = _registered("internal-error", "Problem")


class Problem(Exception):
    """An error answered as a problem; its class names the problem type (``slug``), and
    status and title come from the type's registry entry."""

    slug: str = _INTERNAL.slug
    status: int = _INTERNAL.status or 500
    title: str = _INTERNAL.title

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = _registered(cls.slug, cls.__qualname__)
        own = vars(cls)
        for field in ("status", "title"):
            if field in own and own[field] != getattr(kind, field):
                raise TypeError(
                    f"{cls.__qualname__}: {field} {own[field]!r} differs from the registered "
                    f"{getattr(kind, field)!r} of problem type {kind.slug!r}"
                )
        cls.status = kind.status or 500
        cls.title = kind.title

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors) if errors else None
        self.headers = headers or {}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors is not None:
            body["errors"] = self.errors
        return body


class BadRequest(Problem):
    slug = "bad-request"


class Unauthorized(Problem):
    slug = "unauthorized"


class Forbidden(Problem):
    slug = "forbidden"


class NotFound(Problem):
    slug = "not-found"


class MethodNotAllowed(Problem):
    slug = "method-not-allowed"


class Conflict(Problem):
    slug = "conflict"


class PayloadTooLarge(Problem):
    slug = "payload-too-large"


class ValidationFailed(Problem):
    slug = "validation-error"


class TooManyRequests(Problem):
    slug = "rate-limited"


class BadGateway(Problem):
    slug = "bad-gateway"


RETRY_AFTER_SECONDS = 5
"""What a 503 asks the client to wait: about the time a restarted dependency takes to answer."""


class ServiceUnavailable(Problem):
    """Always with ``Retry-After``: an outage is temporary, and a client should know when to
    come back rather than hammer a recovering dependency."""

    slug = "service-unavailable"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(
            detail,
            errors=errors,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})},
        )


class GatewayTimeout(Problem):
    slug = "gateway-timeout"


def invalid(loc: Sequence[str | int], msg: str, detail: str | None = None) -> ValidationFailed:
    return ValidationFailed(detail or msg, errors=[{"loc": list(loc), "msg": msg}])


def problem_response(problem: Problem, instance: str | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(instance),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


HTTP_ERROR = PROBLEM_TYPES["http-error"]
_STATUS_PROBLEMS: dict[int, type[Problem]] = {
    cls.status: cls
    for cls in (
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        MethodNotAllowed,
        Conflict,
        PayloadTooLarge,
        ValidationFailed,
        TooManyRequests,
        BadGateway,
        ServiceUnavailable,
        GatewayTimeout,
    )
}


# pydantic's wording around a validator's own message ("Value error, must be ...").
_LIBRARY_PREFIX = re.compile(r"^(?:Value error|Assertion failed), ")


def plain_message(msg: str) -> str:
    """A validation message as its validator wrote it, without pydantic's prefix."""
    return _LIBRARY_PREFIX.sub("", msg, count=1)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": plain_message(str(e.get("msg", "")))}
        for e in exc.errors()
    ]


# SQLSTATE classes of an unreachable or refusing database: connection exceptions (08),
# insufficient resources (53, e.g. too many connections), operator intervention (57P: shutdown,
# cannot connect now).
_OUTAGE_SQLSTATES = ("08", "53", "57P")


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` says a dependency (database, message bus, a service) is unreachable or
    refusing, rather than that this request or the code is wrong."""
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror | KafkaError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
            return True
        sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
        return sqlstate.startswith(_OUTAGE_SQLSTATES)
    return isinstance(exc, SQLAlchemyTimeoutError)  # the pool found no free connection


OUTAGES: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    DBAPIError,
    KafkaError,
    SQLAlchemyTimeoutError,
)
"""The exception classes ``is_outage`` may say yes to; the handler passes on the others."""


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
        return problem_response(ValidationFailed(detail, errors=errors), request.url.path)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        cls = _STATUS_PROBLEMS.get(exc.status_code)
        if cls is None:
            problem = Problem(str(exc.detail))
            problem.status = exc.status_code
            problem.slug = HTTP_ERROR.slug
            problem.title = str(exc.detail) or HTTP_ERROR.title
        else:
            problem = cls(str(exc.detail) if exc.detail else None)
        return problem_response(problem, request.url.path)

    async def on_outage(request: Request, exc: Exception) -> JSONResponse:
        if not is_outage(exc):
            raise exc  # to ``on_unexpected``: a 500, logged with its trace
        log.warning(
            "dependency unavailable on %s %s: %s", request.method, request.url.path, _kind(exc)
        )
        problem = ServiceUnavailable(
            "A dependency of this service is unavailable; try again shortly."
        )
        return problem_response(problem, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(Problem("An unexpected error occurred."), request.url.path)

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for outage in OUTAGES:
        app.add_exception_handler(outage, on_outage)
    app.add_exception_handler(Exception, on_unexpected)


def _kind(exc: BaseException) -> str:
    """The exception's class and SQLSTATE, not its text: a driver's message may quote the
    statement's parameters, and those may be secrets."""
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None)
    name = type(getattr(exc, "orig", None) or exc).__name__
    return f"{name} (SQLSTATE {sqlstate})" if sqlstate else name
