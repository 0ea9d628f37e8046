"""Which representation of an invoice the caller's ``Accept`` header asks for."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Literal

from shared.problems import Problem

Format = Literal["json", "csv", "pdf"]
MEDIA: dict[str, Format] = {"application/json": "json", "text/csv": "csv", "application/pdf": "pdf"}
# What a wildcard stands for, in order of preference.
WILDCARDS: dict[str, Format] = {"*/*": "json", "application/*": "json", "text/*": "csv"}


class NotAcceptable(Problem):
    status, slug, title = 406, "not-acceptable", "Not acceptable"


def _weight(params: list[str]) -> Decimal:
    for param in params:
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                weight = Decimal(value.strip())
            except InvalidOperation:
                return Decimal(0)
            return weight if weight.is_finite() else Decimal(0)
    return Decimal(1)


def negotiate(accept: str | None) -> Format:
    """JSON by default; the acceptable type with the highest ``q`` (the first on a tie)."""
    if not accept or not accept.strip():
        return "json"
    best: tuple[Decimal, int, Format] | None = None
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        found = MEDIA.get(media) or WILDCARDS.get(media)
        weight = _weight(params)
        if found is None or weight <= 0:
            continue
        exact = 1 if media in MEDIA else 0  # an exact type beats a wildcard of the same q
        if best is None or (weight, exact) > (best[0], best[1]):
            best = (weight, exact, found)
    if best is None:
        raise NotAcceptable(
            "An invoice is available as application/json, text/csv or application/pdf."
        )
    return best[2]
