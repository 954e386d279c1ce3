"""Discord's REST API unreachable while music plays: the bot says so in one log line and plays on.

The real bot and client, with discord.py's REST base pointed at a closed port for the moment the
now-playing card is updated (a track ends): the request fails as it would with Discord down.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import discord
import pytest
from bot_harness import Driver

from polling import until

pytestmark = pytest.mark.asyncio(loop_scope="module")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.records]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


@pytest.fixture
def api_down() -> Iterator[None]:
    """discord.py's REST requests go to a port nothing listens on until the test ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    saved = discord.http.Route.BASE
    try:
        yield setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    finally:
        discord.http.Route.BASE = saved


async def test_a_card_update_while_discord_is_unreachable_is_one_warning(
    bot_in_voice: Driver, records: Records, request: pytest.FixtureRequest
) -> None:
    reply = await bot_in_voice.say("alice", "=play local:short660.flac")
    assert "Playing now" in reply.text, reply.text
    request.getfixturevalue("api_down")
    # The 2-s track ends: the card is updated through the unreachable API.
    # (An edit of the card, or a new card when the last one is gone: either way one warning.)
    warnings = ("could not update the now-playing card", "could not post in the music channel")
    await until(
        lambda: any(w in line for line in records.lines() for w in warnings),
        within=20,
        what="the card's warning",
    )
    errors = [r for r in records.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not errors, records.lines()
