"""Lines as stored: stable ids and rows in column order."""

from __future__ import annotations

import uuid
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from services.invoicing.documents.content import (
    LINE_COLUMNS,
    SourceAmount,
    StoredLine,
    line_id,
    line_rows,
)


@given(st.uuids(), st.text(max_size=40), st.text(max_size=40))
def test_line_id_is_the_uuid5_of_invoice_contract_and_service(
    invoice: uuid.UUID, contract: str, code: str
) -> None:
    assert line_id(invoice, contract, code) == str(uuid.uuid5(invoice, f"{contract}/{code}"))


def test_line_rows_follow_the_columns_and_keep_ids_across_refreshes() -> None:
    invoice = str(uuid.uuid4())
    line = StoredLine(
        "c-1",
        "RMM",
        "Servers",
        Decimal("3.5000"),
        Decimal("2.000000"),
        Decimal("7.00"),
        (SourceAmount("datto_rmm", "servers", Decimal("3.5000")),),
        "[]",
    )
    first, second = line_rows(invoice, [line, line]), line_rows(invoice, [line])
    row = dict(zip(LINE_COLUMNS, first[1], strict=True))
    assert row["invoice_id"] == invoice and row["position"] == 1
    assert (row["service_code"], row["amount"], row["daily"]) == ("RMM", Decimal("7.00"), "[]")
    assert '"module":"datto_rmm"' in row["sources"]
    assert first[0][0] == second[0][0] == str(uuid.uuid5(uuid.UUID(invoice), "c-1/RMM"))
