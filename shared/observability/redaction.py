"""Secrets never reach a log line: API keys, webhook secrets, bearer tokens and credentials
are masked in the message, the arguments and the traceback before any handler formats them."""

from __future__ import annotations

import logging
import re

MASK = "[redacted]"
_PATTERNS = (
    # API keys and webhook signing secrets have their own prefixes.
    re.compile(r"\bicb_[A-Za-z0-9_\-]{6,}"),
    re.compile(r"\bwhsec_[A-Za-z0-9_\-+/=]{6,}"),
    # Authorization headers and bearer tokens, whatever the scheme.
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)(?:bearer|basic|token)?\s*[^\s,;\"'}]+"),
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=\-]{6,}"),
    # Credentials, passwords, secrets and tokens named as such in JSON, forms or reprs.
    re.compile(
        r"(?i)([\"']?(?:[a-z_]*password|[a-z_]*secret|[a-z_]*token|api[_-]?key|credentials?)"
        r"[\"']?\s*[:=]\s*)(\{[^{}]*\}|\"[^\"]*\"|'[^']*'|[^\s,;}]+)"
    ),
    # Passwords inside connection URLs (postgresql://user:password@host).
    re.compile(r"(?<=://)([^:/@\s]+:)[^@/\s]+(?=@)"),
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: f"{m.group(1)}{MASK}", text)
        else:
            text = pattern.sub(MASK, text)
    return text


class RedactingFilter(logging.Filter):
    """Renders the record's message once, masked, so that no formatter sees the raw
    arguments (an exception's text included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
