"""The tenant's invoice number format: what it prints, and which formats are refused (and
why) before any document is posted with one."""

from __future__ import annotations

from datetime import date

import pytest

from services.invoicing.documents.numbering import (
    DEFAULT_NUMBER_FORMAT,
    MAX_NUMBER_LENGTH,
    NumberFormatError,
    check_number_format,
    display_number,
)

OCTOBER = date(2026, 10, 31)


def test_the_default_prints_as_before() -> None:
    assert DEFAULT_NUMBER_FORMAT == "INV-{year}-{number:05}"
    assert display_number(42, OCTOBER) == "INV-2026-00042"
    assert display_number(123456, OCTOBER) == "INV-2026-123456"


@pytest.mark.parametrize(
    ("fmt", "printed"),
    [
        ("{number}", "7"),
        ("{year}/{number:04}", "2026/0007"),
        ("RE{year}{month:02}-{number:03}", "RE202610-007"),
        ("{month}-{number}", "10-7"),
        ("A{number:06}", "A000007"),
    ],
)
def test_accepted_formats_print_year_month_and_number(fmt: str, printed: str) -> None:
    assert check_number_format(fmt) == fmt
    assert display_number(7, OCTOBER, fmt) == printed


@pytest.mark.parametrize(
    ("fmt", "says"),
    [
        ("INV-{year}", "must contain {number}"),
        ("{customer}-{number}", "{customer}: the fields are"),
        ("{number!r}", "the fields are"),
        ("{0}{number}", "{0}: the fields are"),
        ("{number:>5}", "a field takes only a width"),
        ("{number:05d}", "a field takes only a width"),
        ("{number:0100}", "a field takes only a width"),
        ("{number:6}", "padded with zeros"),
        ("INV {number}", "letters, digits, '-' and '/' only"),
        ("INV_{number}", "letters, digits, '-' and '/' only"),
        ("{{{number}}}", "letters, digits, '-' and '/' only"),
        ("INV-{number", "unbalanced braces"),
        ("X" * 30 + "{number}", "at most 32 characters"),
        ("{year}{month:02}{number:031}", f"at most {MAX_NUMBER_LENGTH}"),
    ],
)
def test_refused_formats_say_why(fmt: str, says: str) -> None:
    with pytest.raises(NumberFormatError) as refused:
        check_number_format(fmt)
    assert says in str(refused.value)


def test_a_number_wider_than_its_width_prints_whole() -> None:
    assert display_number(1234567, OCTOBER, "{number:03}") == "1234567"
