"""Compact pickling for the frozen, slotted value classes a billing run sends between its
processes (terms to the workers, documents back).

A slotted dataclass pickles through a generic ``__getstate__`` that looks its fields up again
for every object, which is slow for the hundreds of thousands of objects of a large run.
``__reduce__ = by_fields`` pickles an object as its class and field values instead.
"""

from __future__ import annotations

from typing import Any


def by_fields(obj: Any) -> tuple[type, tuple[Any, ...]]:
    """The class and the values of its ``__slots__`` (a slotted dataclass: its fields, in
    order), so that unpickling calls the class with them."""
    return type(obj), tuple(getattr(obj, name) for name in obj.__slots__)
