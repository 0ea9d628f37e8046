"""The real stack, once per test session. No Kafka or PostgreSQL: the tests fail, never skip.

The services log to ``<basetemp>/stack0/<service>.log``; ``pytest --basetemp DIR`` keeps them
where you can find them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.stack import Stack, running


@pytest.fixture(scope="session")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with running(Stack.from_env(tmp_path_factory.mktemp("stack"))) as stack:
        yield stack
