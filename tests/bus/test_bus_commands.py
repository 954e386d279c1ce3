"""Commands through the bus on SQLite and PostgreSQL: outcomes, routing, order, expiry, recovery."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from bus_helpers import Recorder, eventually, fast_options, is_status, stored
from sqlalchemy import update

from zilean.core.errors import ZileanError
from zilean.db import schema
from zilean.db.bus import Bus
from zilean.db.bus.records import BOT_OFFLINE, BOT_RESTARTED, HANDLER_CRASHED, Command, Outcome, shard_of
from zilean.db.connector import utcnow

GUILD = 1_180_000_000_000_000_001
USER = 42


def guild_on_shard(shard: int, shard_count: int, n: int = 0) -> int:
    """A realistic snowflake whose shard is `shard`."""
    base = GUILD + (n << 22) * shard_count
    guild = base + ((shard - shard_of(base, shard_count)) % shard_count << 22)
    assert shard_of(guild, shard_count) == shard
    return guild


async def test_a_command_runs_once_and_its_outcome_reaches_the_sender(bus: Bus) -> None:
    handler = Recorder()
    worker = bus.worker(handler)
    await worker.start()
    command = await bus.send(GUILD, "pause", {"why": "test"}, user_id=USER, timeout_s=10)
    assert command.status == "done"
    assert command.outcome == "pause ok"
    assert command.claimed_by == worker.process_id
    assert command.claimed_at is not None and command.finished_at is not None
    assert [(c.id, c.guild_id, c.action, c.payload, c.user_id) for c in handler.ran] == [
        (command.id, GUILD, "pause", {"why": "test"}, USER)
    ]


async def test_refusals_failures_and_crashes_become_outcomes(bus: Bus) -> None:
    async def answer(command: Command) -> Outcome:
        if command.action == "skip":
            return Outcome.refused("only a DJ may skip")
        if command.action == "seek":
            raise ZileanError("this track cannot seek")
        if command.action == "boom":
            raise RuntimeError("bug")
        return Outcome.failed("voice connection lost")

    await bus.worker(Recorder(answer)).start()
    results = {
        action: await bus.send(GUILD, action, user_id=USER, timeout_s=10)
        for action in ("skip", "seek", "boom", "play")
    }
    assert {a: (c.status, c.outcome) for a, c in results.items()} == {
        "skip": ("refused", "only a DJ may skip"),
        "seek": ("failed", "this track cannot seek"),
        "boom": ("failed", HANDLER_CRASHED),
        "play": ("failed", "voice connection lost"),
    }


async def test_commands_of_one_guild_run_in_order_and_guilds_run_side_by_side(bus: Bus) -> None:
    slow_started = asyncio.Event()
    release = asyncio.Event()

    async def answer(command: Command) -> Outcome:
        if command.action == "slow":
            slow_started.set()
            await release.wait()
        return Outcome.done()

    handler = Recorder(answer)
    await bus.worker(handler).start()
    other_guild = GUILD + (1 << 22)
    slow = await bus.submit(GUILD, "slow", user_id=USER)
    after_slow = [await bus.submit(GUILD, f"a{i}", user_id=USER) for i in range(5)]
    await asyncio.wait_for(slow_started.wait(), 10)
    # The other guild is not held up by the slow command...
    elsewhere = await bus.send(other_guild, "pause", user_id=USER, timeout_s=10)
    assert elsewhere.status == "done"
    for command in after_slow:
        assert (await stored(bus, command.id)).status in ("pending", "claimed")
    release.set()
    for command in after_slow:
        assert (await bus.wait(command.id, 10)).status == "done"
    mine = [c.id for c in handler.ran if c.guild_id == GUILD]
    assert mine == [slow.id] + [c.id for c in after_slow]


async def test_a_command_goes_to_the_process_that_owns_the_guilds_shard(bus: Bus, other_bus: Bus) -> None:
    first, second = Recorder(), Recorder()
    w0 = bus.worker(first, shard_ids=[0], shard_count=2)
    w1 = other_bus.worker(second, shard_ids=[1], shard_count=2)
    await w0.start()
    await w1.start()
    on_0 = [guild_on_shard(0, 2, n) for n in range(4)]
    on_1 = [guild_on_shard(1, 2, n) for n in range(4)]
    sent = [await bus.submit(g, "pause", user_id=USER) for g in on_0 + on_1]
    done = [await bus.wait(c.id, 10) for c in sent]
    assert all(c.status == "done" for c in done)
    assert sorted(c.guild_id for c in first.ran) == sorted(on_0)
    assert sorted(c.guild_id for c in second.ran) == sorted(on_1)
    assert {c.claimed_by for c in done if c.guild_id in on_1} == {w1.process_id}


async def test_a_command_for_an_offline_bot_expires_with_a_clear_reason(bus: Bus) -> None:
    # A live bot exists, but for the other shard only: this guild has no owner.
    await bus.worker(Recorder(), shard_ids=[1], shard_count=2).start()
    guild = guild_on_shard(0, 2)
    command = await bus.send(guild, "pause", user_id=USER, timeout_s=10)
    assert (command.status, command.outcome) == ("expired", BOT_OFFLINE)


async def test_maintenance_expires_offline_commands_nobody_waits_for(bus: Bus) -> None:
    handler = Recorder()
    await bus.worker(handler, shard_ids=[1], shard_count=2).start()
    orphan = await bus.submit(guild_on_shard(0, 2), "skip", user_id=USER)
    owned = await bus.submit(guild_on_shard(1, 2), "skip", user_id=USER)
    await eventually(lambda: is_status(bus, orphan.id, "expired"))  # the worker's maintenance
    assert (await stored(bus, orphan.id)).outcome == BOT_OFFLINE
    assert (await bus.wait(owned.id, 10)).status == "done"
    assert handler.ids == [owned.id]


async def test_a_pending_command_is_not_expired_while_its_bot_is_alive(bus: Bus) -> None:
    # The owner is alive (heartbeat) but has not claimed yet: the command must wait, not expire.
    await bus.heartbeats.beat("slow-bot", [0], 1, utcnow())
    command = await bus.submit(GUILD, "pause", user_id=USER)
    expired = await bus.commands.expire_offline(timedelta(0), timedelta(seconds=60))
    assert expired == 0
    assert (await stored(bus, command.id)).status == "pending"


async def test_a_claim_whose_process_died_is_failed_not_rerun(bus: Bus) -> None:
    command = await bus.submit(GUILD, "skip", user_id=USER)
    claimed = await bus.commands.claim("dead-process", [0], 1, 10)
    assert [c.id for c in claimed] == [command.id]
    # A fresh claim is left alone (its claimer may still be starting up)...
    assert await bus.commands.fail_orphans(timedelta(seconds=60)) == 0
    # ...an old claim by a process without a heartbeat is failed, and nobody claims it again.
    assert await bus.commands.fail_orphans(timedelta(0)) == 1
    stored = await bus.commands.get(command.id)
    assert stored is not None and (stored.status, stored.outcome) == ("failed", BOT_RESTARTED)
    assert await bus.commands.claim("another", [0], 1, 10) == []
    assert not await bus.commands.finish(command.id, "dead-process", Outcome.done())


async def test_a_claim_of_a_live_process_is_not_failed(bus: Bus) -> None:
    await bus.heartbeats.beat("alive", [0], 1, utcnow())
    await bus.submit(GUILD, "skip", user_id=USER)
    await bus.commands.claim("alive", [0], 1, 10)
    assert await bus.commands.fail_orphans(timedelta(seconds=60)) == 0


async def test_a_command_cancelled_before_any_claim_never_runs(bus: Bus) -> None:
    command = await bus.submit(GUILD, "stop", user_id=USER)
    assert await bus.commands.cancel_if_pending(command.id, "gave up")
    assert not await bus.commands.cancel_if_pending(command.id, "again")
    assert await bus.commands.claim("p", [0], 1, 10) == []
    assert (await stored(bus, command.id)).outcome == "gave up"


async def test_clean_shutdown_gives_unstarted_commands_back(bus: Bus) -> None:
    gate = asyncio.Event()

    async def answer(command: Command) -> Outcome:
        await gate.wait()
        return Outcome.done()

    first = bus.worker(Recorder(answer))
    await first.start()
    running = await bus.submit(GUILD, "play", user_id=USER)
    queued = await bus.submit(GUILD, "pause", user_id=USER)
    await eventually(lambda: is_status(bus, queued.id, "claimed"))
    stopping = asyncio.create_task(first.stop(grace_s=10))
    await asyncio.sleep(0.1)
    gate.set()
    await stopping
    assert (await stored(bus, running.id)).status == "done"
    assert (await stored(bus, queued.id)).status == "pending"
    second = Recorder()
    await bus.worker(second).start()
    assert (await bus.wait(queued.id, 10)).status == "done"
    assert second.ids == [queued.id]


async def test_prune_deletes_old_finished_commands_but_keeps_the_newest(bus: Bus) -> None:
    await bus.worker(Recorder()).start()
    sent = [await bus.send(GUILD, "pause", user_id=USER, timeout_s=10) for _ in range(3)]
    pending_old = await bus.commands.claim("x", [0], 1, 1)  # nothing pending: all were done
    assert pending_old == []
    async with bus.db.connector.write() as conn:
        await conn.execute(update(schema.commands).values(created_at=utcnow() - timedelta(days=3)))
    assert await bus.commands.prune(timedelta(days=1)) == 2
    assert await bus.commands.get(sent[0].id) is None
    assert await bus.commands.get(sent[2].id) is not None


async def test_the_cli_timeout_path_reports_pending_when_no_bot_ever_answers(db_url: str) -> None:
    from zilean.db import open_database

    db = await open_database(db_url)
    quiet = Bus(db, fast_options(command_expiry_s=3600))
    try:
        command = await quiet.send(GUILD, "pause", user_id=USER, timeout_s=0.3)
        assert command.status == "pending"
    finally:
        await quiet.close()
        await db.close()


@pytest.mark.parametrize("shard_count", [1, 3])
async def test_has_pending_filters_by_shard(bus: Bus, shard_count: int) -> None:
    guild = guild_on_shard(shard_count - 1, shard_count)
    await bus.submit(guild, "pause", user_id=USER)
    assert await bus.commands.has_pending([shard_count - 1], shard_count)
    if shard_count > 1:
        assert not await bus.commands.has_pending([0], shard_count)


async def test_a_web_process_expires_commands_when_no_bot_runs_at_all(db_url: str) -> None:
    from zilean.db import open_database

    db = await open_database(db_url)
    web = Bus(db, fast_options())
    await web.start(maintain=True)
    try:
        command = await web.submit(GUILD, "pause", user_id=USER)  # nobody waits for it
        await eventually(lambda: is_status(web, command.id, "expired"))
        assert (await stored(web, command.id)).outcome == BOT_OFFLINE
    finally:
        await web.close()
        await db.close()
