"""CSV uploads (company import, usage, vendor bills): a header naming the columns, then data
rows. Parsing only, no I/O.

Comma, semicolon or tab separated (whichever the header uses), UTF-8 with or without a byte
order mark. Column names are matched without regard to case or surrounding spaces.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass

from fastapi import Request

from shared.problems import Problem

DELIMITERS = (",", ";", "\t")
CSV_TYPES = ("text/csv", "application/csv")


class UnsupportedMediaType(Problem):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class CsvError(ValueError):
    """The file as a whole is unusable; ``loc`` says where."""

    def __init__(self, loc: list[str | int], msg: str) -> None:
        super().__init__(msg)
        self.loc = loc
        self.msg = msg


class TooManyRows(CsvError):
    pass


@dataclass(frozen=True)
class CsvRow:
    """A data row: its line in the file (the header is line 1) and its non-empty values."""

    line: int
    values: dict[str, str]
    extra_fields: int = 0


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def is_csv(request: Request) -> bool:
    return media_type(request) in CSV_TYPES


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def read_table(
    body: bytes, columns: Sequence[str], required: Sequence[str], max_rows: int
) -> list[CsvRow]:
    """The data rows; a header with unknown, repeated or missing (``required``) columns, more
    than ``max_rows`` rows, or text that is not UTF-8 CSV raises :class:`CsvError`."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvError(["body"], f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    header_line = text.split("\n", 1)[0]
    if not header_line.strip():
        raise CsvError(
            ["body", "header"], f"the first line must name the columns: {','.join(columns)}"
        )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(header_line))
    try:
        header = [h.strip().lower() for h in next(reader)]
        unknown = [h for h in header if h not in columns]
        if unknown:
            raise CsvError(
                ["body", "header"],
                f"unknown column(s) {', '.join(map(repr, unknown))};"
                f" the columns are {', '.join(columns)}",
            )
        repeated = sorted({h for h in header if header.count(h) > 1})
        if repeated:
            raise CsvError(["body", "header"], f"repeated column(s) {', '.join(repeated)}")
        missing = [c for c in required if c not in header]
        if missing:
            raise CsvError(["body", "header"], f"missing column(s) {', '.join(missing)}")
        rows: list[CsvRow] = []
        for fields in reader:
            if not any(f.strip() for f in fields):
                continue
            if len(rows) == max_rows:
                raise TooManyRows(["body"], f"more than {max_rows} rows; split the file")
            values = {c: f.strip() for c, f in zip(header, fields, strict=False) if f.strip()}
            rows.append(CsvRow(reader.line_num, values, max(0, len(fields) - len(header))))
    except csv.Error as exc:
        raise CsvError(["body", reader.line_num], f"malformed CSV: {exc}") from exc
    return rows
