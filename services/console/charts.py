"""Bar charts as SVG, drawn on the server: one bar per day, estimated days hatched and named
in each bar's tooltip, the axis labelled with the largest value and the first and last day.
Coordinates are computed in Decimal like every other number here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 640
HEIGHT = 200
LEFT = 0
BOTTOM = 1
TOP = 1
ONE = Decimal(1)
MAX_SLOT = Decimal(48)  # a few bars stay bars, not walls


@dataclass(frozen=True)
class Point:
    day: dt.date
    value: Decimal
    estimated: bool = False


@dataclass(frozen=True)
class Bar:
    x: str
    y: str
    width: str
    height: str
    estimated: bool
    label: str


@dataclass(frozen=True)
class Chart:
    """What the ``chart`` template macro draws."""

    title: str
    bars: Sequence[Bar]
    top_label: str
    first_day: str
    last_day: str
    estimated_days: int
    width: int = WIDTH
    height: int = HEIGHT
    base_y: int = HEIGHT - BOTTOM
    unit_of_time: str = "days"

    @property
    def empty(self) -> bool:
        return not self.bars

    @property
    def summary(self) -> str:
        if self.empty:
            return f"{self.title}: no data."
        marked = f", {self.estimated_days} estimated" if self.estimated_days else ""
        span = self.unit_of_time.rstrip("s") if len(self.bars) == 1 else self.unit_of_time
        return (
            f"{self.title}: {len(self.bars)} {span} from {self.first_day} "
            f"to {self.last_day}, highest {self.top_label}{marked}."
        )


def _fmt(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.1")), "f")


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def daily_totals(rows: Iterable[tuple[str, Decimal, bool]]) -> list[Point]:
    """Rows ``(date, quantity, estimated)`` summed per day; a day is estimated when any of
    its rows is."""
    totals: dict[dt.date, Decimal] = {}
    estimated: set[dt.date] = set()
    for day_text, quantity, is_estimated in rows:
        day = dt.date.fromisoformat(day_text)
        totals[day] = totals.get(day, Decimal(0)) + quantity
        if is_estimated:
            estimated.add(day)
    return [Point(d, totals[d], d in estimated) for d in sorted(totals)]


def fill_days(points: Sequence[Point], first: dt.date, last: dt.date) -> list[Point]:
    """Every day from ``first`` to ``last``, zero where nothing was counted."""
    by_day = {p.day: p for p in points}
    days = (last - first).days + 1
    return [
        by_day.get(first + dt.timedelta(days=i), Point(first + dt.timedelta(days=i), Decimal(0)))
        for i in range(max(days, 0))
    ]


def bar_chart(
    title: str, points: Sequence[Point], unit: str = "units", *, monthly: bool = False
) -> Chart:
    """``monthly``: each point is a month (its first day), labelled YYYY-MM."""

    def label(day: dt.date) -> str:
        return day.isoformat()[:7] if monthly else day.isoformat()

    if not points:
        return Chart(title, (), "0", "", "", 0)

    top = max((p.value for p in points), default=Decimal(0))
    scale_top = top if top > 0 else ONE
    plot_width = Decimal(WIDTH - LEFT)
    plot_height = Decimal(HEIGHT - BOTTOM - TOP)
    slot = min(plot_width / len(points), MAX_SLOT)
    gap = min(slot / 5, Decimal(2))
    bars = []
    for i, point in enumerate(points):
        height = plot_height * point.value / scale_top
        if point.value > 0 and height < ONE:
            height = ONE
        note = " (estimated)" if point.estimated else ""
        bars.append(
            Bar(
                x=_fmt(LEFT + slot * i + gap / 2),
                y=_fmt(HEIGHT - BOTTOM - height),
                width=_fmt(max(slot - gap, Decimal("0.5"))),
                height=_fmt(height),
                estimated=point.estimated,
                label=f"{label(point.day)}: {_number(point.value)} {unit}{note}",
            )
        )
    return Chart(
        title,
        bars,
        _number(top),
        label(points[0].day),
        label(points[-1].day),
        sum(1 for p in points if p.estimated),
        unit_of_time="months" if monthly else "days",
    )
