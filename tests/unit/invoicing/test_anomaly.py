"""The anomaly rule of PRODUCT.md section 11: baseline, thresholds, drop to 0, reasons."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.invoicing.assurance.anomaly import (
    Reason,
    Thresholds,
    baseline,
    is_anomalous,
    reasons,
    still_released,
)

DEFAULT = Thresholds(D("0.5"), D("5"))


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([], None),
        ([D(7)], D(7)),
        ([D(10), D(30)], D(20)),
        ([D(10), D(60), D(40)], D(40)),
        ([D(1), D(2), D(3), D(1000)], D(2)),  # only the 3 most recent count
    ],
)
def test_the_baseline_is_the_median_of_the_three_most_recent(
    history: list[D], expected: D | None
) -> None:
    assert baseline(history) == expected


@pytest.mark.parametrize(
    ("quantity", "base", "anomalous"),
    [
        (D(30), D(20), False),  # +50 %: not more than the threshold
        (D("30.0001"), D(20), True),
        (D(10), D(20), False),  # -50 %
        (D("9.9999"), D(20), True),
        (D(8), D(2), True),  # gap 6 >= 5 and > 1
        (D("6.9999"), D(2), False),  # gap under the minimum units
        (D(7), D(2), True),  # gap exactly the minimum units
        (D(5), D(0), True),  # from nothing
        (D(4), D(0), False),
        (D(0), D(5), True),  # dropped to 0 from a baseline of min units
        (D(0), D("4.9999"), False),
        (D(0), D(0), False),
        (D(20), None, False),  # no earlier period
    ],
)
def test_thresholds(quantity: D, base: D | None, anomalous: bool) -> None:
    assert is_anomalous(quantity, base, DEFAULT) is anomalous


def test_a_drop_to_0_is_anomalous_even_when_the_threshold_is_above_1() -> None:
    lenient = Thresholds(D(2), D(5))
    assert is_anomalous(D(0), D(10), lenient)
    assert not is_anomalous(D(1), D(10), lenient)


def test_reasons_name_lines_then_vanished_services() -> None:
    lines = [("l1", "A", D(100)), ("l2", "B", D(10)), ("l3", "A", D(0))]
    history = [{"A": D(10), "B": D(10), "Z": D(9)}, {"A": D(12), "Z": D(9)}, {"A": D(8)}]

    found = reasons(lines, history, DEFAULT)

    # B: median(10, 0, 0) = 0, gap 10; Z: median(9, 9, 0) = 9, fell to 0.
    assert found == [
        Reason("l1", "A", D(100), D(10)),
        Reason("l2", "B", D(10), D(0)),
        Reason(None, "Z", D(0), D(9)),
    ]


def test_segments_of_a_service_are_judged_together() -> None:
    lines = [("l1", "A", D(8)), ("l2", "A", D(12))]
    assert reasons(lines, [{"A": D(20)}], DEFAULT) == []


def test_no_history_no_reasons() -> None:
    assert reasons([("l1", "A", D(1000))], [], DEFAULT) == []


def test_a_release_survives_only_the_same_quantities() -> None:
    before = [Reason("l1", "A", D(100), D(10))]
    assert still_released(before, [Reason("l9", "A", D(100), D(11))])
    assert not still_released(before, [Reason("l1", "A", D(101), D(10))])
    assert not still_released(before, [*before, Reason(None, "B", D(0), D(9))])
