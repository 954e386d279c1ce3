"""The Bus: one per process, holding the command queue, event log, heartbeats and wake-ups."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from zilean.db.bus.commands import CommandQueue
from zilean.db.bus.events import EventLog
from zilean.db.bus.follow import EventFollower
from zilean.db.bus.heartbeats import Heartbeats
from zilean.db.bus.listener import PgListener
from zilean.db.bus.records import TRANSIENT_ERRORS, BotProcess, Command, CommandHandler, describe
from zilean.db.bus.signal import Wakeup
from zilean.db.bus.sqlite_watch import SqliteChangeWatch
from zilean.db.bus.worker import BotWorker, ClaimHook, WorkerTiming, prune
from zilean.db.database import Database
from zilean.db.engine import sqlite_file
from zilean.db.tasks import cancel_and_wait

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BusOptions:
    """Timing of the bus: how often the SQLite watch looks (or consumers poll, without a watch or
    listener); with one, consumers still re-check every safety_poll_s."""

    poll_interval_s: float = 0.05
    safety_poll_s: float = 2.0
    # PostgreSQL: LISTEN for NOTIFY; SQLite: watch data_version (False: poll the tables, the baseline)
    listen: bool = True
    timing: WorkerTiming = field(default_factory=WorkerTiming)


class Bus:
    """Commands, events, heartbeats and the wake-up machinery of one process."""

    def __init__(self, db: Database, options: BusOptions | None = None) -> None:
        self.db = db
        self.options = options or BusOptions()
        self.wakeup = Wakeup()
        self.heartbeats = Heartbeats(db.connector)
        self.commands = CommandQueue(db.connector, self.wakeup, self.heartbeats)
        self.events = EventLog(db.connector, self.wakeup)
        self.listener: PgListener | None = None
        self.sqlite_watch: SqliteChangeWatch | None = None
        if db.backend == "postgresql" and self.options.listen:
            self.listener = PgListener(db.engine.url, self.wakeup)
        database = sqlite_file(db.engine.url.database) if db.backend == "sqlite" else None
        if database is not None and self.options.listen:
            self.sqlite_watch = SqliteChangeWatch(database, self.wakeup, self.options.poll_interval_s)
        self._follower: EventFollower | None = None
        self._workers: list[BotWorker] = []
        self._maintenance: asyncio.Task[None] | None = None

    async def start(self, *, maintain: bool = False) -> None:
        """Open the LISTEN connection (PostgreSQL) or start the commit watch (SQLite); with `maintain`,
        also expire and prune periodically.

        Bot workers maintain on their own; a web process should pass maintain=True, so commands for
        an offline bot expire (and old rows go) even when no bot process is running at all.
        """
        if self.listener is not None:
            await self.listener.start()
        if self.sqlite_watch is not None:
            self.sqlite_watch.start()
        if maintain and self._maintenance is None:
            self._maintenance = asyncio.create_task(self._maintain_forever(), name="zilean-bus-maintain")

    async def maintain(self, *, prune_too: bool = False) -> None:
        """One maintenance pass: fail orphaned claims, expire commands of offline guilds, maybe prune."""
        timing = self.options.timing
        stale = timedelta(seconds=timing.stale_after_s)
        await self.commands.fail_orphans(stale)
        await self.commands.expire_offline(timedelta(seconds=timing.command_expiry_s), stale)
        if prune_too:
            await prune(self.commands, self.events, timing)

    async def _maintain_forever(self) -> None:
        timing = self.options.timing
        next_prune = time.monotonic()
        while True:
            try:
                due = time.monotonic() >= next_prune
                await self.maintain(prune_too=due)
                if due:
                    next_prune = time.monotonic() + timing.prune_every_s
            except TRANSIENT_ERRORS as exc:
                log.warning("bus maintenance failed: %s", describe(exc))
            await asyncio.sleep(timing.maintenance_s)

    def poll_s(self) -> float:
        """How long a consumer may sleep before re-checking the tables without being woken."""
        if self.listener is not None and self.listener.connected.is_set():
            return self.options.safety_poll_s
        if self.sqlite_watch is not None and self.sqlite_watch.watching:
            return self.options.safety_poll_s
        return self.options.poll_interval_s

    # --- web / CLI ---------------------------------------------------------------------------

    async def submit(
        self,
        guild_id: int,
        action: str,
        payload: dict[str, Any] | None = None,
        *,
        user_id: int | None,
        origin: str = "web",
    ) -> Command:
        """Queue a command (as the dashboard does, or `zilean send` with origin "cli") without waiting."""
        return await self.commands.submit(guild_id, action, payload, user_id, origin)

    async def wait(self, command_id: int, timeout_s: float) -> Command:
        """Wait for a command's outcome; a command whose bot is offline expires meanwhile."""
        timing = self.options.timing
        return await self.commands.wait(
            command_id,
            timeout_s,
            poll_s=min(self.poll_s(), 1.0),
            expire_after=timedelta(seconds=timing.command_expiry_s),
            stale_after=timedelta(seconds=timing.stale_after_s),
        )

    async def send(
        self,
        guild_id: int,
        action: str,
        payload: dict[str, Any] | None = None,
        *,
        user_id: int | None,
        timeout_s: float = 30.0,
        origin: str = "web",
    ) -> Command:
        """Queue a command and wait for its outcome (the returned command may still be pending)."""
        command = await self.submit(guild_id, action, payload, user_id=user_id, origin=origin)
        return await self.wait(command.id, timeout_s)

    async def owner_of(self, guild_id: int) -> BotProcess | None:
        """The live bot process that runs the guild's shard, if any."""
        return await self.heartbeats.owner_of(guild_id, timedelta(seconds=self.options.timing.stale_after_s))

    async def follower(self, after_id: int | None = None) -> EventFollower:
        """This process's event follower, started on first use."""
        if self._follower is None:
            self._follower = EventFollower(self.events, self.wakeup, self.poll_s)
            await self._follower.start(after_id)
        return self._follower

    # --- bot ---------------------------------------------------------------------------------

    def worker(
        self,
        handler: CommandHandler,
        *,
        shard_ids: Sequence[int] = (0,),
        shard_count: int = 1,
        process_id: str | None = None,
        on_claimed: ClaimHook | None = None,
    ) -> BotWorker:
        """A worker that runs this bot process's commands through `handler` (call `start()`)."""
        worker = BotWorker(
            self.commands,
            self.events,
            self.heartbeats,
            self.wakeup,
            handler,
            shard_ids=shard_ids,
            shard_count=shard_count,
            poll_s=self.poll_s,
            timing=self.options.timing,
            process_id=process_id,
            on_claimed=on_claimed,
        )
        self._workers.append(worker)
        return worker

    async def close(self) -> None:
        """Stop workers, maintenance, the follower and the listener or watch (the Database stays open)."""
        await cancel_and_wait(self._maintenance)
        self._maintenance = None
        for worker in self._workers:
            await worker.stop()
        self._workers.clear()
        if self._follower is not None:
            await self._follower.close()
            self._follower = None
        if self.listener is not None:
            await self.listener.close()
        if self.sqlite_watch is not None:
            await self.sqlite_watch.close()
