from __future__ import annotations

import time

import pytest
from starlette.requests import Request

from shared import context
from shared.context import (
    H_KEY,
    H_ROLE,
    H_SIGNATURE,
    H_TENANT,
    H_TIMESTAMP,
    H_TIMEZONE,
    MAX_SKEW_SECONDS,
    CallerContext,
    Role,
    sign,
    verify,
)
from shared.problems import Unauthorized

SECRET = "unit-test-secret"
CTX = CallerContext("tenant-1", "Europe/Berlin", "viewer", "key-1")
PATH = "/v1/usage"
UNSIGNED = "This service answers only requests signed by the gateway."
INVALID = "Invalid or expired gateway signature."


def request(headers: dict[str, str], method: str = "GET", path: str = PATH) -> Request:
    return Request(
        {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "scheme": "http",
            "server": ("ingest", 8101),
            "query_string": b"",
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        }
    )


def signed_at(monkeypatch: pytest.MonkeyPatch, seconds_ago: float) -> dict[str, str]:
    now = time.time()
    monkeypatch.setattr(context.time, "time", lambda: now - seconds_ago)
    headers = sign(SECRET, CTX, "GET", PATH)
    monkeypatch.setattr(context.time, "time", lambda: now)
    return headers


def refused(req: Request, detail: str, secret: str = SECRET) -> None:
    with pytest.raises(Unauthorized) as caught:
        verify(secret, req)
    assert caught.value.status == 401
    assert caught.value.detail == detail


def test_good_signature_is_accepted() -> None:
    assert verify(SECRET, request(sign(SECRET, CTX, "GET", PATH))) == CTX


def test_the_verified_role_is_a_role_with_the_signed_word() -> None:
    ctx = verify(SECRET, request(sign(SECRET, CTX, "GET", PATH)))
    assert ctx.role is Role.VIEWER
    assert [role.value for role in Role] == ["admin", "billing", "ingest", "viewer"]


def test_method_case_does_not_matter_when_signing() -> None:
    headers = sign(SECRET, CTX, "post", PATH)
    assert verify(SECRET, request(headers, method="POST")) == CTX


def test_sign_sets_every_header() -> None:
    headers = sign(SECRET, CTX, "GET", PATH)
    assert set(headers) == {H_TENANT, H_TIMEZONE, H_ROLE, H_KEY, H_TIMESTAMP, H_SIGNATURE}
    assert (headers[H_TENANT], headers[H_TIMEZONE], headers[H_ROLE], headers[H_KEY]) == (
        "tenant-1",
        "Europe/Berlin",
        "viewer",
        "key-1",
    )
    assert len(headers[H_SIGNATURE]) == 64


@pytest.mark.parametrize(
    ("header", "value"),
    [
        (H_ROLE, "admin"),
        (H_TENANT, "tenant-2"),
        (H_TIMEZONE, "UTC"),
        (H_KEY, "key-2"),
        (H_SIGNATURE, "0" * 64),
        (H_SIGNATURE, "\u00e9" * 64),
    ],
    ids=["role", "tenant", "timezone", "key", "signature", "non-ascii-signature"],
)
def test_tampered_header_is_refused(header: str, value: str) -> None:
    headers = sign(SECRET, CTX, "GET", PATH) | {header: value}
    refused(request(headers), INVALID)


def test_signature_is_bound_to_method_and_path() -> None:
    headers = sign(SECRET, CTX, "GET", PATH)
    refused(request(headers, method="DELETE"), INVALID)
    refused(request(headers, path="/v1/invoices"), INVALID)


def test_other_secret_is_refused() -> None:
    refused(request(sign("another-secret", CTX, "GET", PATH)), INVALID)


def test_unknown_role_is_refused_even_when_signed() -> None:
    forged = CallerContext("tenant-1", "UTC", "root", "key-1")  # type: ignore[arg-type]
    refused(request(sign(SECRET, forged, "GET", PATH)), UNSIGNED)


def test_timestamp_within_the_skew_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    headers = signed_at(monkeypatch, MAX_SKEW_SECONDS - 5)
    assert verify(SECRET, request(headers)) == CTX


@pytest.mark.parametrize("seconds_ago", [MAX_SKEW_SECONDS + 5, 3600, -(MAX_SKEW_SECONDS + 5)])
def test_stale_or_future_timestamp_is_refused(
    monkeypatch: pytest.MonkeyPatch, seconds_ago: float
) -> None:
    refused(request(signed_at(monkeypatch, seconds_ago)), INVALID)


@pytest.mark.parametrize(
    "timestamp",
    ["", "abc", "-5", "1.5e9", "\u00b2", "\u00b9", "1" + "0" * 5000],
    ids=["empty", "letters", "negative", "float", "superscript-2", "superscript-1", "huge"],
)
def test_malformed_timestamp_is_refused(timestamp: str) -> None:
    headers = sign(SECRET, CTX, "GET", PATH) | {H_TIMESTAMP: timestamp}
    refused(request(headers), INVALID)


@pytest.mark.parametrize("missing", [H_TENANT, H_TIMEZONE, H_ROLE, H_KEY, H_TIMESTAMP, H_SIGNATURE])
def test_missing_header_is_refused(missing: str) -> None:
    headers = sign(SECRET, CTX, "GET", PATH)
    del headers[missing]
    refused(request(headers), UNSIGNED)


def test_no_headers_at_all_is_refused() -> None:
    refused(request({}), UNSIGNED)
