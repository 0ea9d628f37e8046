"""The page behind each problem ``type`` URI, written from the problem registry."""

from __future__ import annotations

import re
from html import escape

from shared.problems import PROBLEM_TYPES, TYPE_BASE, ProblemType

_CODE = re.compile(r"`([^`]+)`")
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.5;color:#1d2430}code{background:#eef1f5;padding:0 .25rem;border-radius:3px}"
    "dt{font-weight:600;margin-top:1rem}dd{margin-left:0}"
)


def _text(markdown: str) -> str:
    """Escaped text with ``code`` spans kept as code."""
    return _CODE.sub(r"<code>\1</code>", escape(markdown))


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def _status(kind: ProblemType) -> str:
    return str(kind.status) if kind.status is not None else "the answer's own HTTP status"


def type_page(kind: ProblemType) -> str:
    body = (
        f'<p><a href="{TYPE_BASE}">All problem types</a></p>'
        f"<h1>{escape(kind.title)}</h1>"
        f"<dl><dt>Type</dt><dd><code>{escape(kind.uri)}</code></dd>"
        f"<dt>Status</dt><dd>{escape(_status(kind))}</dd>"
        f"<dt>What it means</dt><dd>{_text(kind.meaning)}</dd>"
        f"<dt>What to do</dt><dd>{_text(kind.remedy)}</dd></dl>"
    )
    return _page(f"{kind.title} ({kind.uri})", body)


def index_page() -> str:
    rows = "".join(
        f'<tr><td><a href="{escape(kind.uri)}"><code>{escape(kind.uri)}</code></a></td>'
        f"<td>{escape(_status(kind))}</td><td>{escape(kind.title)}</td></tr>"
        for kind in PROBLEM_TYPES.values()
    )
    body = (
        "<h1>Problem types</h1><p>Errors are RFC 9457 <code>application/problem+json</code>; "
        "their <code>type</code> names one of these.</p>"
        f"<table><tr><th>Type</th><th>Status</th><th>Title</th></tr>{rows}</table>"
    )
    return _page("Problem types", body)
