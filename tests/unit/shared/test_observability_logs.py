"""Log lines: JSON with the task's ids for collectors, text on a terminal, secrets masked
in messages, arguments and tracebacks."""

from __future__ import annotations

import io
import json
import logging

import pytest

from shared.observability.context import request_id_var, tenant_id_var
from shared.observability.logs import log_handler
from shared.observability.redaction import MASK, redact


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def emit(stream: io.StringIO, fmt: str, *args: object, exc: bool = False) -> str:
    logger = logging.getLogger("icb.test.logs")
    logger.propagate = False
    handler = log_handler("ingest", stream, fmt=fmt)
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    try:
        if exc:
            try:
                raise RuntimeError(str(args[1]))
            except RuntimeError:
                logger.exception(str(args[0]), *args[1:])
        else:
            logger.info(str(args[0]), *args[1:])
    finally:
        logger.handlers.clear()
    return stream.getvalue()


def test_json_lines_carry_the_ids_of_the_task() -> None:
    request = request_id_var.set("req-7")
    tenant = tenant_id_var.set("tenant-9")
    try:
        line = json.loads(emit(io.StringIO(), "auto", "stored %d records", 3))
    finally:
        request_id_var.reset(request)
        tenant_id_var.reset(tenant)
    assert line["message"] == "stored 3 records"
    ids = (line["service"], line["request_id"], line["tenant_id"])
    assert ids == ("ingest", "req-7", "tenant-9")
    assert line["trace_id"] == "-"  # no span: no trace
    assert line["level"] == "info" and line["logger"] == "icb.test.logs"


def test_a_terminal_gets_readable_text() -> None:
    text = emit(Tty(), "auto", "stored %d records", 3)
    assert not text.startswith("{")
    assert "INFO ingest [- - -] icb.test.logs: stored 3 records" in text


@pytest.mark.parametrize(
    ("raw", "secret"),
    [
        ("key icb_0123456789abcdef_S3cr3tPart-xyz refused", "icb_0123456789abcdef_S3cr3tPart-xyz"),
        ("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZ", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZ"),
        ("Authorization: Bearer abc.def.ghi-123456", "abc.def.ghi-123456"),
        ("{'authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ('{"credentials": {"api_key": "k-998877665544"}}', "k-998877665544"),
        ('{"client_secret": "s3cr3t-value"}', "s3cr3t-value"),
        ("password=hunter2hunter2 next", "hunter2hunter2"),
        ("postgresql+asyncpg://icb:pa55word@db:5432/icb", "pa55word"),
    ],
)
def test_secrets_are_masked(raw: str, secret: str) -> None:
    masked = redact(raw)
    assert secret not in masked
    assert MASK in masked


def test_plain_text_stays() -> None:
    text = "POST /v1/usage -> 200 in 3.1 ms (module datto_rmm, org org-1, 12 servers)"
    assert redact(text) == text


def test_secrets_in_arguments_and_tracebacks_are_masked_in_both_formats() -> None:
    key = "icb_feedfacecafebeef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    for fmt in ("json", "text"):
        out = emit(io.StringIO(), fmt, "refused %s", key, exc=True)
        assert key not in out
        assert out.count(MASK) >= 2  # the message and the exception's text
        assert "RuntimeError" in out
