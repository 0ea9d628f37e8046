"""The real stack, once per test session. No Kafka or PostgreSQL: the tests fail, never skip.

The services log to ``<basetemp>/stack0/<service>.log``; ``pytest --basetemp DIR`` keeps them
where you can find them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest

from tests.support.stack import InfraUnavailable, Stack


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    stack = Stack.from_env(tmp_path_factory.mktemp("stack"))
    try:
        await stack.up()
    except InfraUnavailable as exc:
        with contextlib.suppress(Exception):
            await stack.down()
        pytest.fail(str(exc), pytrace=False)
    except BaseException:
        await stack.down()
        raise
    try:
        yield stack
    finally:
        await stack.down()
