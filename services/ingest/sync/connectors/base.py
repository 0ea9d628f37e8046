"""What a connector is: it fetches one module's usage of one day from the module's API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Pull:
    """One day of one module, with where and how to ask for it."""

    module: str
    day: date
    base_url: str
    credentials: Mapping[str, str]
    max_pages: int = 10_000


class ConnectorError(Exception):
    """The module did not deliver the day; ``retryable`` when trying again later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class Connector(Protocol):
    credential_names: tuple[str, ...]
    """The credentials a connection of this connector must carry."""

    async def fetch(self, client: httpx.AsyncClient, pull: Pull) -> list[Any]:
        """Every record of the day in the shape of ``POST /v1/usage`` ``records[]`` (module,
        org_id, org_name, metric, date, quantity), as the module reported them: the caller
        validates. Raises ``ConnectorError``; never returns part of a day."""
        ...
