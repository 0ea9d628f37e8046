"""``settle`` waits for the whole pipeline: ``idle`` must not answer True at a moment when
work moved between the places it looks at (a relay publishing, a consumer committing)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.conftest import EmbeddedApi


async def test_a_message_published_while_the_outboxes_are_read_is_not_idle(
    embedded_api: EmbeddedApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = embedded_api.system
    await embedded_api.settle()
    assert await system.idle()
    read_outboxes = system.outboxes_empty

    async def relayed_meanwhile() -> bool:
        empty = await read_outboxes()  # the row was read as gone: the relay has it
        await system.bus.publish("unread.topic", [(None, b"{}")])
        return empty

    monkeypatch.setattr(system, "outboxes_empty", relayed_meanwhile)
    assert not await system.idle()

    monkeypatch.setattr(system, "outboxes_empty", read_outboxes)
    assert await system.idle()
