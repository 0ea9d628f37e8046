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
