"""Companies as a CSV file (``name,external_ref,tax_rate,currency``), read by
:mod:`shared.csv_table`."""

from __future__ import annotations

from shared.csv_table import CsvError, CsvRow, read_table

__all__ = ["COLUMNS", "CsvError", "CsvRow", "read_rows"]
COLUMNS = ("name", "external_ref", "tax_rate", "currency")
REQUIRED = ("name",)
MAX_ROWS = 10_000


def read_rows(body: bytes) -> list[CsvRow]:
    return read_table(body, COLUMNS, REQUIRED, MAX_ROWS)
