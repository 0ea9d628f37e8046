"""Record-by-record validation of pushed usage: precise errors, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from shared.catalog import CATALOG, quantity_errors

MAX_ORG_ID = 200
MAX_ORG_NAME = 300
MAX_QUANTITY = Decimal("1e15")
QUANTUM = Decimal("0.0001")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

RecordKey = tuple[str, str, str, date]


@dataclass(frozen=True, slots=True)
class ValidRecord:
    module: str
    org_id: str
    org_name: str
    metric: str
    day: date
    quantity: Decimal

    @property
    def key(self) -> RecordKey:
        return (self.module, self.org_id, self.metric, self.day)


@dataclass(frozen=True)
class Rejection:
    index: int
    errors: tuple[tuple[str, str], ...]

    def located(self) -> list[tuple[list[str | int], str]]:
        """Each error with where it is in the request body."""
        return [(["records", self.index, field], msg) for field, msg in self.errors]

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "errors": [{"loc": loc, "msg": msg} for loc, msg in self.located()],
        }


def _text(raw: dict[str, Any], field: str, limit: int, errors: list[tuple[str, str]]) -> str:
    value = raw.get(field)
    if not isinstance(value, str):
        errors.append((field, "required string" if value is None else "must be a string"))
        return ""
    value = value.strip()
    if not value:
        errors.append((field, "must not be empty"))
    elif len(value) > limit:
        errors.append((field, f"longer than {limit} characters"))
    return value


def _day(raw: Any, today: date, max_age_days: int, errors: list[tuple[str, str]]) -> date:
    if not isinstance(raw, str) or not _DATE.match(raw):
        errors.append(("date", "must be a date as YYYY-MM-DD"))
        return today
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors.append(("date", f"{raw} is not a calendar date"))
        return today
    if day > today:
        errors.append(("date", f"{raw} is in the future for the tenant (today is {today})"))
    elif day < today - timedelta(days=max_age_days):
        errors.append(("date", f"{raw} is older than {max_age_days} days"))
    return day


def _quantity(raw: Any, errors: list[tuple[str, str]]) -> Decimal | None:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        errors.append(("quantity", "must be a decimal number or a decimal string"))
        return None
    try:
        value = Decimal(raw.strip()) if isinstance(raw, str) else Decimal(raw)
    except InvalidOperation:
        errors.append(("quantity", f"{raw!r} is not a decimal number"))
        return None
    if not value.is_finite():
        errors.append(("quantity", "must be a finite number"))
        return None
    if value >= MAX_QUANTITY:
        errors.append(("quantity", "is too large"))
        return None
    return value


def validate_one(raw: Any, today: date, max_age_days: int) -> ValidRecord | list[tuple[str, str]]:
    if not isinstance(raw, dict):
        return [("record", "must be an object")]
    errors: list[tuple[str, str]] = []
    module_id = raw.get("module")
    metric_id = raw.get("metric")
    module = CATALOG.module(module_id) if isinstance(module_id, str) else None
    metric = None
    if module is None:
        errors.append(("module", f"unknown module {module_id!r}"))
    else:
        metric = CATALOG.metric(module.id, metric_id) if isinstance(metric_id, str) else None
        if metric is None:
            errors.append(("metric", f"unknown metric {metric_id!r} for module {module.id}"))
    org_id = _text(raw, "org_id", MAX_ORG_ID, errors)
    org_name = _text(raw, "org_name", MAX_ORG_NAME, errors)
    day = _day(raw.get("date"), today, max_age_days, errors)
    quantity = _quantity(raw.get("quantity"), errors)
    if quantity is not None and metric is not None:
        errors.extend(("quantity", msg) for msg in quantity_errors(metric, quantity))
    if errors or module is None or metric is None or quantity is None:
        return errors
    return ValidRecord(module.id, org_id, org_name, metric.id, day, quantity.quantize(QUANTUM))


def validate_batch(
    raw_records: Sequence[Any], today: date, max_age_days: int
) -> tuple[list[ValidRecord], list[Rejection], int]:
    """Valid records (first of identical duplicates), rejections, and identical repeats."""
    valid: dict[RecordKey, tuple[int, ValidRecord]] = {}
    rejected: dict[int, Rejection] = {}
    conflicting: set[RecordKey] = set()
    repeated: dict[RecordKey, list[int]] = {}
    for index, raw in enumerate(raw_records):
        result = validate_one(raw, today, max_age_days)
        if isinstance(result, list):
            rejected[index] = Rejection(index, tuple(result))
            continue
        first = valid.get(result.key)
        if first is None:
            valid[result.key] = (index, result)
        elif first[1].quantity == result.quantity:
            repeated.setdefault(result.key, []).append(index)
        else:
            conflicting.add(result.key)
            rejected[index] = Rejection(
                index, (("quantity", f"conflicts with record {first[0]} for the same key"),)
            )
    for key in conflicting:
        # The first record and its identical repeats go down with the key.
        first_index, _ = valid.pop(key)
        for index in (first_index, *repeated.pop(key, ())):
            rejected[index] = Rejection(
                index, (("quantity", "the same record appears again with another quantity"),)
            )
    repeats = sum(len(indexes) for indexes in repeated.values())
    return [r for _, r in valid.values()], sorted(rejected.values(), key=lambda r: r.index), repeats
