"""COPY text: each value as PostgreSQL's text format reads it back."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

import pytest

from shared.pg_copy import copy_text


class Kind(StrEnum):
    INVOICE = "invoice"


def test_values_are_tab_separated_lines_with_null_as_backslash_n() -> None:
    rows = [
        ("a", 1, Decimal("2.5000"), date(2026, 1, 31), None, True),
        (Kind.INVOICE, 0, Decimal("-0.01"), datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "", False),
    ]
    assert copy_text(rows) == (
        b"a\t1\t2.5000\t2026-01-31\t\\N\tt\ninvoice\t0\t-0.01\t2026-01-02T03:04:00+00:00\t\tf\n"
    )


def test_backslashes_tabs_and_line_breaks_inside_a_value_are_escaped() -> None:
    value = 'C:\\share\tnew\nline\r{"a":"\\u00e9"} é'
    assert copy_text([(value,)]) == ('C:\\\\share\\tnew\\nline\\r{"a":"\\\\u00e9"} é\n'.encode())


def test_no_rows_is_no_text() -> None:
    assert copy_text([]) == b""


def test_a_value_without_a_text_form_is_refused() -> None:
    with pytest.raises(TypeError, match="float"):
        copy_text([(1.5,)])
