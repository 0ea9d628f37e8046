"""Pausing Python's cycle collector around work that makes many objects and no cycles.

Parsing a large read, billing a batch of companies or unpickling its results keeps tens of
thousands of small container objects alive at once: the collector would walk them again and
again (its older generations every few thousand allocations) and find nothing to free. Other
code running meanwhile in the process only sees collection deferred until the block ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


YOUNG_OBJECTS = 20_000
"""Allocations between two young collections (Python's default: 700); the older generations
are collected after 50 and 100 of the one below (default: 10 and 10)."""


def tune_for_serving() -> None:
    """Once a service is built and before it serves: what exists now (modules, the app, table
    metadata) lives as long as the process, so it is frozen out of every later collection,
    and the collector runs less often, since a batch of a thousand records makes many
    thousands of short-lived objects, which a young collection every 700 would walk again
    and again while they are still in use."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, 50, 100)
