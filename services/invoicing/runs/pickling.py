"""Compact pickling of what a billing run sends to its worker processes and back.

The frozen, slotted value classes of the terms (contracts, their services and prices) and of
the documents (content, lines, sources) would pickle through a generic ``__getstate__`` that
looks their fields up again for every object, which is slow for the hundreds of thousands of
objects of a large run. Registered with the pickler of ``multiprocessing`` (in this process and,
as this module is imported there, in each worker), each pickles as its class and field values
instead; other pickling, and the classes themselves, are left alone.
"""

from __future__ import annotations

from multiprocessing.reduction import ForkingPickler
from typing import Any

from services.invoicing.billing import Contract, ContractVersion, Pricing, ServiceTerms, Tier
from services.invoicing.documents.content import Content, SourceAmount, StoredLine

COMPACT = (
    Contract,
    ContractVersion,
    ServiceTerms,
    Pricing,
    Tier,
    Content,
    StoredLine,
    SourceAmount,
)


def by_fields(obj: Any) -> tuple[type, tuple[Any, ...]]:
    """The class and the values of its ``__slots__`` (a slotted dataclass: its fields, in
    order), so that unpickling calls the class with them."""
    return type(obj), tuple(getattr(obj, name) for name in obj.__slots__)


def dumps(obj: Any) -> bytes:
    """``obj`` pickled as the process pool pickles it."""
    return bytes(ForkingPickler.dumps(obj))


for _cls in COMPACT:
    ForkingPickler.register(_cls, by_fields)
