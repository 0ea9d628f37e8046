"""The generic connector: a paged JSON usage API per module (the module simulator's shape).

``GET {base_url}/usage?date=YYYY-MM-DD&page=N`` with ``Authorization: Bearer <token>`` answers
``{"items": [{org_id, org_name, metric, quantity[, date]}], "next_page": N+1 | null}``.
The catalog's ``generic`` connector kind documents the credentials (``token``).
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import httpx

from services.ingest.sync.connectors.base import ConnectorError, Failure, Pull

RETRYABLE_STATUS = frozenset({408, 425, 429})


def _refusal(response: httpx.Response) -> ConnectorError:
    status = response.status_code
    where = f"{response.request.method} {response.request.url.copy_with(query=None)}"
    if status in (401, 403):
        return ConnectorError(
            f"the module refused the credentials (HTTP {status} from {where})",
            retryable=False,
            failure=Failure.CREDENTIALS_REFUSED,
        )
    retryable = status >= 500 or status in RETRYABLE_STATUS
    return ConnectorError(f"{where} answered HTTP {status}", retryable=retryable)


def _page(response: httpx.Response) -> tuple[list[Any], int | None]:
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError as exc:
        raise ConnectorError(f"the usage page is not JSON: {exc}", retryable=True) from exc
    items = body.get("items") if isinstance(body, dict) else None
    next_page = body.get("next_page") if isinstance(body, dict) else None
    if not isinstance(items, list) or not (next_page is None or isinstance(next_page, int)):
        raise ConnectorError("the usage page lacks 'items' or a valid 'next_page'", retryable=True)
    return items, next_page


async def _get_page(
    client: httpx.AsyncClient, pull: Pull, page: int
) -> tuple[list[Any], int | None]:
    url = pull.base_url.rstrip("/") + "/usage"
    headers = {
        "Authorization": f"Bearer {pull.credentials.get('token', '')}",
        "Accept": "application/json",
    }
    try:
        response = await client.get(
            url, params={"date": pull.day.isoformat(), "page": page}, headers=headers
        )
    except httpx.HTTPError as exc:
        raise ConnectorError(
            f"the module could not be reached at {url}: {exc!r}",
            retryable=True,
            failure=Failure.UNREACHABLE,
        ) from exc
    if response.status_code != 200:
        raise _refusal(response)
    return _page(response)


class GenericConnector:
    async def check(self, client: httpx.AsyncClient, pull: Pull) -> None:
        await _get_page(client, pull, 1)

    async def fetch(self, client: httpx.AsyncClient, pull: Pull) -> list[Any]:
        records: list[Any] = []
        page: int | None = 1
        pages = 0
        while page is not None:
            pages += 1
            if pages > pull.max_pages:
                raise ConnectorError(f"more than {pull.max_pages} pages", retryable=False)
            items, next_page = await _get_page(client, pull, page)
            if next_page is not None and next_page <= page:
                raise ConnectorError("the usage pages do not advance", retryable=False)
            records.extend(self._record(pull, item) for item in items)
            page = next_page
        return records

    @staticmethod
    def _record(pull: Pull, item: Any) -> Any:
        if not isinstance(item, dict):
            return item  # validation rejects it with a precise error
        return {"date": pull.day.isoformat(), **item, "module": pull.module}
