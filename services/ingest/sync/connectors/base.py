"""What a connector is: it fetches one module's usage of one day from the module's API."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
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


class Failure(StrEnum):
    """Why the module did not deliver: the tenant fixes each in a different place."""

    CREDENTIALS_REFUSED = "credentials_refused"
    UNREACHABLE = "unreachable"
    UNEXPECTED_ANSWER = "unexpected_answer"


class ConnectorError(Exception):
    """The module did not deliver the day; ``retryable`` when trying again later may help."""

    def __init__(
        self, message: str, *, retryable: bool, failure: Failure = Failure.UNEXPECTED_ANSWER
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.failure = failure


class Connector(Protocol):
    async def fetch(self, client: httpx.AsyncClient, pull: Pull) -> list[Any]:
        """Every record of the day in the shape of ``POST /v1/usage`` ``records[]`` (module,
        org_id, org_name, metric, date, quantity), as the module reported them: the caller
        validates. Raises ``ConnectorError``; never returns part of a day."""
        ...

    async def check(self, client: httpx.AsyncClient, pull: Pull) -> None:
        """One cheap request that proves the API answers at ``base_url`` and accepts the
        credentials, so a wrong connection is refused when it is saved rather than at the
        first sync. Raises ``ConnectorError``."""
        ...
