"""The Overview's counts by severity: exact for a whole list, "at least" where it goes on."""

from __future__ import annotations

from services.console.pages.overview import severity_counts


def listed(*severities: str) -> list[dict[str, str]]:
    return [{"kind": "k", "severity": s, "message": "m"} for s in severities]


def test_a_whole_list_is_counted_exactly() -> None:
    counts, open_ended = severity_counts(listed("critical", "warning", "warning"), more=False)
    assert (counts["critical"], counts["warning"], counts["info"]) == (1, 2, 0)
    assert open_ended == frozenset()


def test_a_list_that_goes_on_may_have_more_of_its_last_severity_and_the_later_ones() -> None:
    assert severity_counts(listed("critical", "warning"), more=True)[1] == {"warning", "info"}
    assert severity_counts(listed("critical"), more=True)[1] == {"critical", "warning", "info"}
    assert severity_counts(listed("info"), more=True)[1] == {"info"}
    assert severity_counts([], more=True)[1] == {"critical", "warning", "info"}
