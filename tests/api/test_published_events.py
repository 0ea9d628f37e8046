"""Every event the system publishes along a billing month, checked against its committed
JSON Schema; and the AsyncAPI document through the gateway."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import jsonschema
import orjson

from shared.event_contract import committed_schema
from shared.events import DEAD_LETTER
from tests.api.test_invoicing_support import (
    InvoicingApi,
    day,
    latest_month,
    ok,
    service,
    steps,
)

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi

PERIOD = latest_month(31)


async def test_every_published_event_matches_its_schema(embedded_api: EmbeddedApi) -> None:
    billing = InvoicingApi(embedded_api)
    company = await billing.company("Fabrikam GmbH", tax_rate="0.19")
    await billing.feed("datto_rmm", "servers", "RMM-SRV")
    await billing.usage(company, "datto_rmm", "servers", day(PERIOD, 1), steps((31, 3)))
    await billing.contract(company, [service("RMM-SRV", "9.90")], start=day(PERIOD, 1))
    await billing.run(PERIOD)
    draft = await billing.invoice_of(company, PERIOD)
    await billing.post(draft["id"])
    await embedded_api.settle()

    seen: Counter[str] = Counter()
    for message in embedded_api.system.bus.published():
        if message.topic.endswith(DEAD_LETTER):
            raise AssertionError(f"dead letter: {message.value[:500]!r}")
        envelope = orjson.loads(message.value)
        schema = committed_schema(envelope["type"], envelope["version"])
        assert schema is not None, envelope["type"]
        jsonschema.validate(envelope, schema)
        seen[envelope["type"]] += 1
    assert {
        "usage.recorded",
        "usage.resolved",
        "mapping.changed",
        "company.changed",
        "module.billing_changed",
        "contract.changed",
        "invoice.posted",
    } <= set(seen)


async def test_the_asyncapi_document_is_public_at_the_gateway(embedded_api: EmbeddedApi) -> None:
    answer = await embedded_api.client.get("/asyncapi.json", headers={"Authorization": ""})
    document = ok(answer)
    assert document["asyncapi"] == "3.0.0"
    channel = document["channels"]["invoice.posted"]
    assert channel["address"].endswith("invoice.posted")
    assert "invoice.posted.v1" in document["components"]["schemas"]
