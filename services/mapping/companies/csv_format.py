"""Companies as a CSV file (``name,external_ref,tax_rate,currency``): parsing only, no I/O.

Comma, semicolon or tab separated (whichever the header uses), UTF-8 with or without a byte
order mark. Column names are matched without regard to case or surrounding spaces.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

COLUMNS = ("name", "external_ref", "tax_rate", "currency")
REQUIRED = ("name",)
DELIMITERS = (",", ";", "\t")
MAX_ROWS = 10_000


class CsvError(ValueError):
    """The file as a whole is unusable; ``loc`` says where."""

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


@dataclass(frozen=True)
class CsvRow:
    """A data row: its line in the file (the header is line 1) and its non-empty values."""

    line: int
    values: dict[str, str]
    extra_fields: int = 0


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_rows(body: bytes) -> list[CsvRow]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(["body"], f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise CsvError(
            ["body", "header"], f"the first line must name the columns: {','.join(COLUMNS)}"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(header_line))
    try:
        header = [h.strip().lower() for h in next(reader)]
        unknown = [h for h in header if h not in COLUMNS]
        if unknown:
            raise CsvError(
                ["body", "header"],
                f"unknown column(s) {', '.join(map(repr, unknown))};"
                f" the columns are {', '.join(COLUMNS)}",
            )
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            raise CsvError(["body", "header"], f"repeated column(s) {', '.join(repeated)}")
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise CsvError(["body", "header"], f"missing column(s) {', '.join(missing)}")
        rows: list[CsvRow] = []
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            if len(rows) == MAX_ROWS:
                raise CsvError(["body"], f"more than {MAX_ROWS} rows; split the file")
            values = {c: f.strip() for c, f in zip(header, fields, strict=False) if f.strip()}
            rows.append(CsvRow(reader.line_num, values, max(0, len(fields) - len(header))))
    except csv.Error as exc:
        raise CsvError(["body", reader.line_num], f"malformed CSV: {exc}") from exc
    return rows
