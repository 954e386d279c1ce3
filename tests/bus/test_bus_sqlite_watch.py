"""SQLite: another process's commits wake the bus through PRAGMA data_version, not table polling."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from bus_helpers import Recorder, fast_options, open_bus

from zilean.db.bus import Bus
from zilean.db.bus.signal import Wakeup
from zilean.db.bus.sqlite_watch import SqliteChangeWatch
from zilean.db.engine import sqlite_file

GUILD = 1_180_000_000_000_000_001
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
# So long that only the watch can explain a prompt wake-up.
SLOW_SAFETY_POLL = 60.0


@pytest.fixture
async def watched_pair(db_url: str) -> AsyncIterator[tuple[Bus, Bus]]:
    """Two buses on their own engines (two processes' views), both trusting the watch for 60 s."""
    options = dataclasses.replace(fast_options(), safety_poll_s=SLOW_SAFETY_POLL)
    async for one in open_bus(db_url, options):
        async for other in open_bus(db_url, options):
            yield one, other


@SQLITE_ONLY
async def test_an_event_from_another_process_arrives_long_before_the_safety_poll(
    watched_pair: tuple[Bus, Bus],
) -> None:
    web, bot = watched_pair
    assert web.sqlite_watch is not None and web.sqlite_watch.watching
    assert web.poll_s() == SLOW_SAFETY_POLL
    follower = await web.follower()
    subscription = follower.subscribe()
    await asyncio.sleep(0.2)  # the follower is now in its 60 s wait
    published = await bot.events.publish(GUILD, "player", {"state": "playing"})
    event = await asyncio.wait_for(subscription.get(), 10)
    assert event is not None and event.id == published


@SQLITE_ONLY
async def test_a_dashboard_command_reaches_the_bot_process_long_before_the_safety_poll(
    watched_pair: tuple[Bus, Bus],
) -> None:
    web, bot = watched_pair
    handler = Recorder()
    worker = bot.worker(handler)
    await worker.start()
    await asyncio.sleep(0.2)  # the worker is now in its 60 s wait
    command = await asyncio.wait_for(web.send(GUILD, "pause", {}, user_id=7, timeout_s=10), 15)
    assert command.status == "done"
    assert [c.id for c in handler.ran] == [command.id]


@SQLITE_ONLY
async def test_without_listen_the_bus_polls_the_tables_as_before(db_url: str) -> None:
    async for bus in open_bus(db_url, dataclasses.replace(fast_options(), listen=False)):
        assert bus.sqlite_watch is None
        assert bus.poll_s() == bus.options.poll_interval_s


def test_only_an_on_disk_database_is_watched() -> None:
    assert sqlite_file(None) is None
    assert sqlite_file(":memory:") is None
    assert sqlite_file("file:zilean?mode=memory") is None
    assert sqlite_file("data/zilean.db") == Path("data/zilean.db")


async def test_a_missing_database_is_not_created_and_not_watched(tmp_path: Path) -> None:
    watch = SqliteChangeWatch(tmp_path / "missing.db", Wakeup(), 0.02)
    watch.start()
    try:
        assert not watch.watching
        await asyncio.sleep(0.1)
        assert not (tmp_path / "missing.db").exists()
    finally:
        await watch.close()
