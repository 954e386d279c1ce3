"""Events through the bus: in order, exactly once, to every subscriber, across processes and backends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from bus_helpers import eventually
from sqlalchemy import update

from zilean.core.track import Track
from zilean.db import PlayerState, schema
from zilean.db.bus import Bus
from zilean.db.bus.events import anchor_payload, position_from_anchor
from zilean.db.bus.follow import Lagged
from zilean.db.bus.records import Event
from zilean.db.connector import utcnow

GUILD = 1_180_000_000_000_000_001


async def drain(subscription: object, count: int) -> list[Event]:
    """The next `count` events of a subscription (bounded wait: a hang fails, not a slow run)."""
    got: list[Event] = []
    for _ in range(count):
        got.append(await asyncio.wait_for(subscription.get(), 30))  # type: ignore[attr-defined]
    return got


async def test_subscribers_get_new_events_in_order_filtered_by_guild(bus: Bus) -> None:
    await bus.events.publish(GUILD, "player", {"before": True})  # before the follower: not delivered
    follower = await bus.follower()
    everything = follower.subscribe()
    one_guild = follower.subscribe(GUILD)
    ids = [await bus.events.publish(GUILD if i % 2 else GUILD + 1, "queue", {"i": i}) for i in range(6)]
    got = await drain(everything, 6)
    assert [e.id for e in got] == ids
    assert [e.payload["i"] for e in got] == list(range(6))
    assert [e.payload["i"] for e in await drain(one_guild, 3)] == [1, 3, 5]
    assert everything.get_nowait() is None


async def test_another_process_sees_events_by_notify_or_polling(bus: Bus, other_bus: Bus) -> None:
    # other_bus shares no in-process signal with bus: PostgreSQL wakes it by NOTIFY, SQLite by polling.
    follower = await other_bus.follower()
    subscription = follower.subscribe()
    ids = [await bus.events.publish(GUILD, "player", {"i": i}) for i in range(20)]
    assert [e.id for e in await drain(subscription, 20)] == ids


async def test_concurrent_publishers_never_make_a_follower_skip_an_event(bus: Bus, other_bus: Bus) -> None:
    follower = await other_bus.follower()
    subscription = follower.subscribe()

    async def publisher(n: int) -> list[int]:
        return [await bus.events.publish(GUILD, "queue", {"n": n, "i": i}) for i in range(15)]

    published = await asyncio.gather(*(publisher(n) for n in range(8)))
    expected = sorted(i for batch in published for i in batch)
    got = [e.id for e in await drain(subscription, len(expected))]
    assert got == expected


async def test_a_subscriber_that_falls_behind_is_told_and_does_not_block_others(bus: Bus) -> None:
    from zilean.db.bus.follow import EventFollower

    follower = EventFollower(bus.events, bus.wakeup, bus.poll_s, queue_size=3)
    await follower.start()
    try:
        slow, fast = follower.subscribe(), follower.subscribe()
        ids = [await bus.events.publish(GUILD, "queue", {"i": i}) for i in range(3)]
        assert [e.id for e in await drain(fast, 3)] == ids
        more = [await bus.events.publish(GUILD, "queue", {"i": i}) for i in range(2)]
        assert [e.id for e in await drain(fast, 2)] == more
        with pytest.raises(Lagged):
            await slow.get()
        later = await bus.events.publish(GUILD, "queue", {})
        assert (await drain(slow, 1))[0].id == later
        slow.close()
        assert follower.subscriber_count == 1
    finally:
        await follower.close()


async def test_a_player_event_carries_a_position_anchor(bus: Bus) -> None:
    anchor = datetime(2026, 11, 24, 1, 0, 0, tzinfo=UTC)
    track = Track(title="Song", url="https://example.test/a.mp3", source="direct", duration_ms=180_000)
    state = PlayerState(guild_id=GUILD, track=track, position_ms=30_000, anchor_at=anchor, volume=80)
    follower = await bus.follower()
    subscription = follower.subscribe(GUILD)
    await bus.events.publish_player(state)
    (event,) = await drain(subscription, 1)
    assert event.kind == "player" and event.payload == anchor_payload(state)
    assert event.payload["track"]["title"] == "Song"
    later = anchor + timedelta(seconds=12)
    assert position_from_anchor(event.payload, later) == 42_000 == state.position_at(later)
    paused = anchor_payload(
        PlayerState(guild_id=GUILD, track=track, position_ms=5_000, anchor_at=anchor, paused=True)
    )
    assert position_from_anchor(paused, later) == 5_000
    assert position_from_anchor(event.payload, anchor + timedelta(hours=1)) == 180_000  # capped


async def test_prune_keeps_the_newest_event_so_ids_keep_growing(bus: Bus) -> None:
    ids = [await bus.events.publish(GUILD, "queue", {}) for _ in range(4)]
    async with bus.db.connector.write() as conn:
        await conn.execute(update(schema.events).values(created_at=utcnow() - timedelta(days=1)))
    assert await bus.events.prune(timedelta(hours=1)) == 3
    assert [e.id for e in await bus.events.after(0)] == [ids[-1]]
    assert await bus.events.publish(GUILD, "queue", {}) > ids[-1]


async def test_follower_starts_after_a_given_id_for_catch_up(bus: Bus) -> None:
    ids = [await bus.events.publish(GUILD, "queue", {"i": i}) for i in range(3)]
    follower = await bus.follower(after_id=ids[0])
    subscription = follower.subscribe()
    await eventually(lambda: _is(follower.last_id, ids[-1]))
    assert [e.id for e in await drain(subscription, 0)] == []
    # Subscribing after the follower read them does not replay; the history is in the table.
    assert [e.id for e in await bus.events.after(ids[0])] == ids[1:]


async def _is(value: int, expected: int) -> bool:
    return value == expected


async def test_an_event_committed_late_is_not_skipped_by_a_follower(bus: Bus, other_bus: Bus) -> None:
    # Transaction A takes an id and stays open; B publishes meanwhile. If B's later id became
    # visible first, a follower would move past A's id and never deliver A. The ordering lock
    # (PostgreSQL) / the single writer (SQLite) makes B wait for A instead.
    follower = await other_bus.follower()
    subscription = follower.subscribe()
    async with bus.db.connector.write() as conn:
        first = await bus.events.publish_in(conn, GUILD, "queue", {"tx": "A"})
        second_task = asyncio.create_task(bus.events.publish(GUILD, "queue", {"tx": "B"}))
        await asyncio.sleep(0.3)  # the follower polls / is woken meanwhile
        assert not second_task.done()
    bus.events.wake()
    second = await second_task
    assert second > first
    assert [e.id for e in await drain(subscription, 2)] == [first, second]
