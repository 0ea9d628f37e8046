"""The module catalog: which vendor modules report usage, what they count, and which
credentials a connection to their API carries.

The catalog is data (``modules.toml`` next to this file); adding a module or a metric is a
change to that file only. ``CATALOG`` is the packaged catalog, loaded once at import.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from typing import Any

__all__ = [
    "CATALOG",
    "MAX_FRACTION_DIGITS",
    "Catalog",
    "CatalogError",
    "ConnectorKind",
    "Credential",
    "Metric",
    "Module",
    "fraction_digits",
    "load_catalog",
    "quantity_errors",
]

MAX_FRACTION_DIGITS = 4
DEFAULT_CONNECTOR = "generic"
_ID = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogError(ValueError):
    """The catalog data is malformed."""


@dataclass(frozen=True, slots=True)
class Metric:
    """A billing metric of a module; ``fractional`` metrics accept decimals, others counts."""

    id: str
    unit: str
    fractional: bool = False


@dataclass(frozen=True, slots=True)
class Credential:
    """A named secret a module connection carries (``token``), and what the tenant puts there."""

    name: str
    description: str


@dataclass(frozen=True, slots=True)
class ConnectorKind:
    """A shape of module API: how its usage is pulled and the credentials a connection needs."""

    id: str
    description: str
    credentials: tuple[Credential, ...]

    @property
    def credential_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.credentials)


@dataclass(frozen=True, slots=True)
class Module:
    id: str
    name: str
    metrics: tuple[Metric, ...]
    connector: str = DEFAULT_CONNECTOR

    def metric(self, metric_id: str) -> Metric | None:
        for metric in self.metrics:
            if metric.id == metric_id:
                return metric
        return None


@dataclass(frozen=True)
class Catalog:
    """All modules in display order, with lookups by id."""

    modules: tuple[Module, ...]
    connectors: Mapping[str, ConnectorKind] = field(default_factory=dict)
    _index: Mapping[str, Module] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, Module] = {}
        for module in self.modules:
            if module.id in index:
                raise CatalogError(f"duplicate module id {module.id!r}")
            if module.connector != DEFAULT_CONNECTOR and module.connector not in self.connectors:
                raise CatalogError(f"module {module.id}: unknown connector {module.connector!r}")
            index[module.id] = module
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.modules)

    def __contains__(self, module_id: object) -> bool:
        return module_id in self._index

    @property
    def module_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.modules)

    def module(self, module_id: str) -> Module | None:
        return self._index.get(module_id)

    def metric(self, module_id: str, metric_id: str) -> Metric | None:
        module = self._index.get(module_id)
        return None if module is None else module.metric(metric_id)

    def connector(self, module_id: str) -> ConnectorKind | None:
        """The kind of API the module is pulled from; None for an unknown module (or a
        catalog that describes no connectors)."""
        module = self._index.get(module_id)
        return None if module is None else self.connectors.get(module.connector)

    def metric_keys(self) -> tuple[tuple[str, str], ...]:
        """Every ``(module_id, metric_id)`` pair, in catalog order."""
        return tuple((m.id, x.id) for m in self.modules for x in m.metrics)


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: {key!r} must be a non-empty string")
    return value


def _ident(entry: Mapping[str, Any], where: str) -> str:
    value = _text(entry, "id", where)
    if not _ID.match(value):
        raise CatalogError(f"{where}: id {value!r} must be lower-case letters, digits, '_'")
    return value


def _parse_metric(entry: Any, where: str) -> Metric:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where}: a metric must be a table")
    metric_id = _ident(entry, where)
    where = f"{where} {metric_id}"
    fractional = entry.get("fractional", False)
    if not isinstance(fractional, bool):
        raise CatalogError(f"{where}: 'fractional' must be true or false")
    return Metric(id=metric_id, unit=_text(entry, "unit", where), fractional=fractional)


def _parse_module(entry: Any, position: int) -> Module:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"module #{position}: must be a table")
    module_id = _ident(entry, f"module #{position}")
    where = f"module {module_id}"
    raw_metrics = entry.get("metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise CatalogError(f"{where}: needs at least one [[modules.metrics]]")
    metrics = tuple(_parse_metric(m, f"{where} metric") for m in raw_metrics)
    seen: set[str] = set()
    for metric in metrics:
        if metric.id in seen:
            raise CatalogError(f"{where}: duplicate metric id {metric.id!r}")
        seen.add(metric.id)
    connector = entry.get("connector", DEFAULT_CONNECTOR)
    if not isinstance(connector, str):
        raise CatalogError(f"{where}: 'connector' must be a string")
    return Module(
        id=module_id, name=_text(entry, "name", where), metrics=metrics, connector=connector
    )


def _parse_credential(entry: Any, where: str) -> Credential:
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where}: a credential must be a table")
    name = _text(entry, "name", where)
    if not _ID.match(name):
        raise CatalogError(f"{where}: name {name!r} must be lower-case letters, digits, '_'")
    return Credential(name=name, description=_text(entry, "description", f"{where} {name}"))


def _parse_connector(kind: str, entry: Any) -> ConnectorKind:
    where = f"connector {kind}"
    if not isinstance(entry, Mapping):
        raise CatalogError(f"{where}: must be a table")
    raw = entry.get("credentials")
    if not isinstance(raw, list) or not raw:
        raise CatalogError(f"{where}: needs at least one [[connectors.{kind}.credentials]]")
    credentials = tuple(_parse_credential(c, f"{where} credential") for c in raw)
    names = [c.name for c in credentials]
    if len(set(names)) != len(names):
        raise CatalogError(f"{where}: duplicate credential names")
    return ConnectorKind(
        id=kind, description=_text(entry, "description", where), credentials=credentials
    )


def parse_catalog(data: Mapping[str, Any]) -> Catalog:
    """Build a catalog from parsed TOML data (``{"modules": [...], "connectors": {...}}``)."""
    raw_modules = data.get("modules")
    if not isinstance(raw_modules, list) or not raw_modules:
        raise CatalogError("the catalog needs at least one [[modules]] entry")
    raw_connectors = data.get("connectors", {})
    if not isinstance(raw_connectors, Mapping):
        raise CatalogError("'connectors' must be a table of connector kinds")
    return Catalog(
        modules=tuple(_parse_module(m, i) for i, m in enumerate(raw_modules, 1)),
        connectors={k: _parse_connector(k, v) for k, v in raw_connectors.items()},
    )


def load_catalog(toml_text: str | None = None) -> Catalog:
    """Load the packaged ``modules.toml`` (or the given TOML text)."""
    if toml_text is None:
        toml_text = resources.files(__name__).joinpath("modules.toml").read_text("utf-8")
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"modules.toml is not valid TOML: {exc}") from exc
    return parse_catalog(data)


def fraction_digits(q: Decimal) -> int:
    """Significant fractional digits of a finite decimal (``1.2300`` has 2), exactly."""
    _sign, digits, exponent = q.as_tuple()
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    places = -exponent
    # Trailing zeros of the coefficient are not significant.
    for digit in reversed(digits):
        if digit != 0 or places == 0:
            break
        places -= 1
    return places


def quantity_errors(metric: Metric, q: Decimal) -> list[str]:
    """Why ``q`` is not a valid quantity for ``metric`` (empty list: valid).

    Quantities are non-negative decimals with at most 4 fractional digits; count metrics
    (not ``fractional``) take whole numbers only.
    """
    if not isinstance(q, Decimal):
        return [f"quantity must be a decimal, not {type(q).__name__}"]
    if not q.is_finite():
        return ["quantity must be a finite number"]
    errors: list[str] = []
    if q < 0:
        errors.append("quantity must not be negative")
    places = fraction_digits(q)
    if places > MAX_FRACTION_DIGITS:
        errors.append(f"quantity has more than {MAX_FRACTION_DIGITS} fractional digits")
    if places > 0 and not metric.fractional:
        errors.append(f"quantity must be a whole number (unit {metric.unit!r} is a count)")
    return errors


CATALOG = load_catalog()
