"""The database orders text as Python does (by code point; a linguistic collation such as
``en-US`` would not), and the cluster that ``deploy/postgres.sh`` makes gets there by
byte comparison (``C``), the faster way, with UTF-8 character classes."""

from __future__ import annotations

import asyncpg

from tests.support.postgres import admin_connection

WORDS = [
    "Müller",
    "Mueller",
    "muller",
    "Zeta",
    "äb",
    "ab",
    "Ab",
    "a b",
    "a-b",
    "a_b",
    "Ørsted",
    "Œuvre",
    "\uff5a",  # a fullwidth z
    "😀",
    "10",
    "9",
    "",
    "a\u0301",
    "á",
]


async def _sorted_by_database(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch("SELECT w FROM unnest($1::text[]) AS t(w) ORDER BY w", WORDS)
    return [r["w"] for r in rows]


async def test_the_database_orders_text_by_code_point(fresh_database_url: str) -> None:
    conn = await admin_connection(fresh_database_url)
    try:
        assert await _sorted_by_database(conn) == sorted(WORDS)
        assert await conn.fetchval("SELECT lower('ÄÖÜ')") == "äöü"  # character classes
        assert await conn.fetchval("SHOW lc_collate") == "C"
    finally:
        await conn.close()
