"""The calendar month every period field and filter accepts."""

from __future__ import annotations

from datetime import date

import pytest

from services.invoicing.billing import parse_period
from shared.wire import period_days


def test_a_month_gives_its_first_and_last_day() -> None:
    assert period_days("2024-02") == (date(2024, 2, 1), date(2024, 2, 29))
    assert parse_period("2026-12") == (date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "0000-05", "x", "2026-01\n"])
def test_anything_but_a_month_is_refused_the_same_way_everywhere(text: str) -> None:
    with pytest.raises(ValueError):
        period_days(text)
    with pytest.raises(ValueError, match="period must be 'YYYY-MM'"):
        parse_period(text)
