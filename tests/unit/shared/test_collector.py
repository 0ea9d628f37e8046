"""The cycle collector: paused around work that makes no cycles, tuned once for serving."""

from __future__ import annotations

import gc
import subprocess
import sys

from shared.collector import YOUNG_OBJECTS, collector_paused


def test_the_collector_is_paused_in_the_block_and_as_before_after_it() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "an inner block must not enable it for the outer one"
    assert gc.isenabled()


def test_a_failing_block_leaves_the_collector_running() -> None:
    try:
        with collector_paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()


def test_serving_freezes_what_exists_and_collects_less_often() -> None:
    script = (
        "import gc; from shared.collector import tune_for_serving; "
        "before = gc.get_freeze_count(); tune_for_serving(); "
        "print(before, gc.get_freeze_count(), *gc.get_threshold())"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    before, frozen, *threshold = map(int, out.stdout.split())
    assert before == 0 and frozen > 1000
    assert threshold == [YOUNG_OBJECTS, 50, 100]
