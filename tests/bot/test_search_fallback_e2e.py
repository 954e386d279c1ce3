"""SEARCH_FALLBACKS through the real bot: YouTube unreachable, so `=play words` plays from the library
and the reply says where it came from."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from bot_harness import Driver
from pydantic import SecretStr

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def bot_settings_overrides() -> dict[str, Any]:
    """YouTube as the search provider, reached through a proxy nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    return {
        "search_provider": "ytsearch",
        "search_fallbacks": ["scsearch", "local"],
        "ytdlp_proxy": SecretStr(dead),
    }


async def test_a_blocked_search_plays_from_the_library_and_says_so(bot_in_voice: Driver) -> None:
    reply = await bot_in_voice.say("alice", "=play tone 440", within=30)
    assert "Playing now" in reply.text and "Tone 440" in reply.text, reply.text
    assert "YouTube" in reply.text and "from the local library" in reply.text, reply.text
