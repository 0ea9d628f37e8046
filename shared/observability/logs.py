"""Log lines as JSON (one object a line) for collectors, or as readable text in a terminal;
either way with the request id, tenant id and trace id of the task, and secrets masked."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

from shared.observability.context import request_id_var, tenant_id_var
from shared.observability.redaction import RedactingFilter


def trace_id() -> str:
    """The current trace's id in hex, or ``-`` outside a recorded trace."""
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else "-"


class ContextFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        record.request_id = request_id_var.get()
        record.tenant_id = tenant_id_var.get()
        record.trace_id = trace_id()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": getattr(record, "service", "icb"),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "tenant_id": getattr(record, "tenant_id", "-"),
            "trace_id": getattr(record, "trace_id", "-"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(service)s [%(request_id)s %(tenant_id)s %(trace_id)s] "
    "%(name)s: %(message)s"
)


def log_handler(
    service: str, stream: TextIO | None = None, fmt: str = "auto"
) -> logging.StreamHandler[TextIO]:
    """``fmt`` is ``json``, ``text`` or ``auto`` (text on a terminal, JSON otherwise)."""
    target = stream if stream is not None else sys.stderr
    if fmt == "auto":
        fmt = "text" if target.isatty() else "json"
    handler = logging.StreamHandler(target)
    # Filters run in order: the context is added first, then the message is masked.
    handler.addFilter(ContextFilter(service))
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(level: str = "INFO", service: str = "icb", fmt: str = "auto") -> None:
    root = logging.getLogger()
    root.handlers[:] = [log_handler(service, fmt=fmt)]
    root.setLevel(level.upper())
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # the access lines say it already
