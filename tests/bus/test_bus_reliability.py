"""Bus reliability with real processes: a claimer killed mid-way, two racing workers, a dropped LISTEN."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from bus_helpers import Recorder, eventually, is_status, stored
from sqlalchemy import func, select, update

from zilean.db import schema
from zilean.db.bus import Bus
from zilean.db.bus.listener import asyncpg_dsn
from zilean.db.bus.records import BOT_RESTARTED, TRANSIENT_ERRORS
from zilean.db.connector import utcnow

GUILD = 1_180_000_000_000_000_001
USER = 42
WORKER = Path(__file__).with_name("worker_proc.py")
# Only the PostgreSQL case of `db_url` (LISTEN/NOTIFY and backends to terminate have no SQLite twin).
POSTGRES_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres)], indirect=True
)


class WorkerProcess:
    """A worker_proc.py child: started, told "go", killed or closed by the test."""

    def __init__(self, proc: asyncio.subprocess.Process, process_id: str) -> None:
        self.proc = proc
        self.process_id = process_id

    @classmethod
    async def spawn(cls, url: str, ran_file: Path, *extra: str) -> WorkerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(WORKER),
            url,
            str(ran_file),
            *extra,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        line = await asyncio.wait_for(cls._line(proc), 60)
        assert line.startswith("ready "), line
        return cls(proc, line.split(" ", 1)[1])

    @staticmethod
    async def _line(proc: asyncio.subprocess.Process) -> str:
        assert proc.stdout is not None
        return (await proc.stdout.readline()).decode().strip()

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")

    async def read_line(self) -> str:
        return await asyncio.wait_for(self._line(self.proc), 60)

    async def finish(self) -> None:
        if self.proc.returncode is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture
async def children() -> AsyncIterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for child in started:
        if child.proc.returncode is None:
            child.proc.kill()
        await child.proc.wait()


def ran_ids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


async def test_a_claimer_killed_between_claim_and_run_never_runs_twice_and_loses_nothing(
    bus: Bus, db_url: str, tmp_path: Path, children: list[WorkerProcess]
) -> None:
    ran_file = tmp_path / "ran"
    sent = [await bus.submit(GUILD, "skip", user_id=USER) for _ in range(3)]
    doomed = await WorkerProcess.spawn(db_url, ran_file, "--block-after-claim")
    children.append(doomed)
    doomed.go()
    claimed_line = await doomed.read_line()
    assert claimed_line == "claimed " + ",".join(str(c.id) for c in sent)
    os.kill(doomed.proc.pid, signal.SIGKILL)
    await doomed.proc.wait()
    assert {(await stored(bus, c.id)).status for c in sent} == {"claimed"}

    # A new bot process starts; the dead one's heartbeat goes stale and its claims are failed.
    survivor = Recorder()
    await bus.worker(survivor).start()
    for command in sent:
        await eventually(lambda command=command: is_status(bus, command.id, "failed"))
        assert (await stored(bus, command.id)).outcome == BOT_RESTARTED
    later = await bus.send(GUILD, "pause", user_id=USER, timeout_s=30)
    assert later.status == "done"
    assert survivor.ids == [later.id]  # the orphaned commands ran nowhere
    assert ran_ids(ran_file) == []


async def test_two_worker_processes_racing_run_each_of_1000_commands_exactly_once(
    bus: Bus, db_url: str, tmp_path: Path, children: list[WorkerProcess]
) -> None:
    ran_file = tmp_path / "ran"
    # Both processes own the same shard (as during a rolling restart), so they really race.
    workers = await asyncio.gather(*(WorkerProcess.spawn(db_url, ran_file) for _ in range(2)))
    children.extend(workers)
    guilds = [GUILD + (n << 22) for n in range(50)]
    sent = await bus.commands.submit_many([(guilds[i % 50], "skip", {"i": i}, USER) for i in range(1000)])
    for worker in workers:
        worker.go()

    async def all_final() -> bool:
        query = select(func.count()).where(schema.commands.c.status.in_(["pending", "claimed"]))
        async with bus.db.connector.read() as conn:
            return (await conn.execute(query)).scalar() == 0

    await eventually(all_final, tries=3000)
    for worker in workers:
        await worker.finish()
    counts = collections.Counter(ran_ids(ran_file))
    assert sorted(counts) == sorted(sent)
    assert set(counts.values()) == {1}
    async with bus.db.connector.read() as conn:
        rows = (await conn.execute(select(schema.commands.c.status, schema.commands.c.claimed_by))).all()
    assert {status for status, _ in rows} == {"done"}
    by_worker = collections.Counter(claimer for _, claimer in rows)
    assert set(by_worker) == {w.process_id for w in workers}, by_worker  # both took part


@POSTGRES_ONLY
async def test_listener_connections_killed_mid_flow_reconnect_and_catch_up(
    bus: Bus, other_bus: Bus, db_url: str
) -> None:
    assert bus.listener is not None and other_bus.listener is not None  # LISTEN/NOTIFY
    # The web side (bus) follows events and sends commands; the bot side (other_bus) runs them.
    handler = Recorder()
    await other_bus.worker(handler).start()
    subscription = (await bus.follower()).subscribe()
    admin = await asyncpg.connect(asyncpg_dsn(bus.db.engine.url))
    published: list[int] = []
    sent: list[int] = []

    async def flow() -> None:
        for i in range(120):
            published.append(await other_bus.events.publish(GUILD, "queue", {"i": i}))
            sent.append((await bus.submit(GUILD + (i % 7 << 22), "skip", user_id=USER)).id)
            await asyncio.sleep(0.005)

    async def kill_listeners() -> None:
        for _ in range(2):
            await asyncio.sleep(0.15)
            for listener in (bus.listener, other_bus.listener):
                assert listener is not None
                await eventually(lambda listener=listener: _connected(listener))
                pid = listener.server_pid()
                assert pid is not None
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)

    try:
        await asyncio.gather(flow(), kill_listeners())
    finally:
        await admin.close()
    got = [e.id for e in [await asyncio.wait_for(subscription.get(), 30) for _ in published]]
    assert got == published  # none lost, none twice, in order
    for command_id in sent:
        assert (await bus.wait(command_id, 30)).status == "done"
    assert sorted(handler.ids) == sorted(sent)
    assert bus.listener.connects >= 3 and other_bus.listener.connects >= 3


async def _connected(listener: object) -> bool:
    return bool(listener.connected.is_set())  # type: ignore[attr-defined]


@POSTGRES_ONLY
async def test_every_connection_killed_mid_flow_loses_and_duplicates_nothing(
    bus: Bus, other_bus: Bus
) -> None:
    """Like a PostgreSQL restart: every backend of the database (pool and LISTEN) is terminated."""
    assert bus.listener is not None and other_bus.listener is not None
    handler = Recorder()
    await other_bus.worker(handler).start()
    subscription = (await bus.follower()).subscribe()
    admin = await asyncpg.connect(asyncpg_dsn(bus.db.engine.url))

    async def flow() -> None:
        for i in range(120):
            # A write cut by the kill may or may not have committed; the checks below use the tables.
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await other_bus.events.publish(GUILD, "queue", {"i": i})
            with contextlib.suppress(*TRANSIENT_ERRORS):
                await bus.submit(GUILD + (i % 7 << 22), "skip", user_id=USER)
            await asyncio.sleep(0.005)

    async def kill_everything() -> None:
        await asyncio.sleep(0.2)
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert killed >= 2  # at least the two LISTEN connections

    try:
        await asyncio.gather(flow(), kill_everything())
    finally:
        await admin.close()
    async with bus.db.connector.read() as conn:
        event_ids = [
            row[0]
            for row in (await conn.execute(select(schema.events.c.id).order_by(schema.events.c.id))).all()
        ]
        command_ids = [row[0] for row in (await conn.execute(select(schema.commands.c.id))).all()]
    assert len(event_ids) > 100 and len(command_ids) > 100
    got = [(await asyncio.wait_for(subscription.get(), 30)).id for _ in event_ids]
    assert got == event_ids  # every stored event, once, in order
    assert subscription.get_nowait() is None
    for command_id in command_ids:
        assert (await bus.wait(command_id, 30)).status == "done"
    assert sorted(handler.ids) == sorted(command_ids)  # every stored command ran exactly once


async def test_a_claim_whose_reply_was_lost_goes_back_and_runs_once(bus: Bus) -> None:
    handler = Recorder()
    worker = bus.worker(handler)
    await worker.start()
    # The claim committed under this worker's name but the worker never got the rows back
    # (the connection broke after COMMIT): simulate it by claiming behind its back, long ago.
    command = await bus.submit(GUILD, "skip", user_id=USER)
    async with bus.db.connector.write() as conn:
        await conn.execute(
            update(schema.commands)
            .where(schema.commands.c.id == command.id)
            .values(
                status="claimed", claimed_by=worker.process_id, claimed_at=utcnow() - timedelta(minutes=1)
            )
        )
    await eventually(lambda: is_status(bus, command.id, "done"))
    assert handler.ids == [command.id]
