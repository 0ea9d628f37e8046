"""Connectors pull a module's daily usage from its API; pluggable per module.

``CONNECTORS.register(module_id, connector)`` gives a module its own; every other module uses
the generic connector (the module simulator's API shape).
"""

from __future__ import annotations

from services.ingest.sync.connectors.base import Connector, ConnectorError, Failure, Pull
from services.ingest.sync.connectors.generic import GenericConnector

__all__ = [
    "CONNECTORS",
    "Connector",
    "ConnectorError",
    "ConnectorRegistry",
    "Failure",
    "GenericConnector",
    "Pull",
]


class ConnectorRegistry:
    def __init__(self, default: Connector) -> None:
        self.default = default
        self._by_module: dict[str, Connector] = {}

    def register(self, module: str, connector: Connector) -> None:
        self._by_module[module] = connector

    def unregister(self, module: str) -> None:
        self._by_module.pop(module, None)

    def for_module(self, module: str) -> Connector:
        return self._by_module.get(module, self.default)


CONNECTORS = ConnectorRegistry(GenericConnector())
