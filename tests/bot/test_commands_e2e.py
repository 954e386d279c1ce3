"""Commands end to end: the real bot, the sandbox, prefix and slash."""

from __future__ import annotations

import pytest
from bot_harness import Driver

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_help_lists_commands_by_prefix_and_slash(driver: Driver) -> None:
    reply = await driver.say("alice", "=help")
    assert "play" in reply.text and "volume" in reply.text
    slash = await driver.slash("alice", "help")
    assert slash.ephemeral and "effect" in slash.text
