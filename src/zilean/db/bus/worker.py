"""The bot's side of the bus: heartbeat, claim commands of my shards, run them per guild in order.

Commands of one guild run one after another in claim (= id) order; different guilds run side by
side, so a slow `play` in one guild never delays a `pause` in another.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from zilean.core.errors import ZileanError
from zilean.db.bus.commands import CommandQueue
from zilean.db.bus.events import EventLog
from zilean.db.bus.heartbeats import Heartbeats
from zilean.db.bus.records import (
    HANDLER_CRASHED,
    TRANSIENT_ERRORS,
    Command,
    CommandHandler,
    Outcome,
    describe,
)
from zilean.db.bus.signal import COMMANDS, Wakeup
from zilean.db.connector import utcnow
from zilean.db.repos.audit import AuditRepo
from zilean.db.tasks import cancel_and_wait

log = logging.getLogger(__name__)

ClaimHook = Callable[[list[Command]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WorkerTiming:
    """How often the worker beats, claims, maintains; how long until a process or command is stale."""

    heartbeat_s: float = 2.0
    stale_after_s: float = 10.0
    command_expiry_s: float = 15.0
    maintenance_s: float = 2.0
    prune_every_s: float = 300.0
    keep_commands_s: float = 86_400.0
    keep_events_s: float = 3_600.0
    claim_batch: int = 32
    max_in_flight: int = 512


def new_process_id() -> str:
    """A unique id per process start: host, pid and a random part (a restart is a new process)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class BotWorker:
    """Runs the commands of the shards this bot process owns through `handler`."""

    def __init__(
        self,
        commands: CommandQueue,
        events: EventLog,
        heartbeats: Heartbeats,
        wakeup: Wakeup,
        handler: CommandHandler,
        *,
        shard_ids: Sequence[int] = (0,),
        shard_count: int = 1,
        poll_s: Callable[[], float],
        timing: WorkerTiming = WorkerTiming(),
        process_id: str | None = None,
        on_claimed: ClaimHook | None = None,
    ) -> None:
        self._commands = commands
        self._events = events
        self._heartbeats = heartbeats
        self._wakeup = wakeup
        self._handler = handler
        self.shard_ids = tuple(shard_ids)
        self.shard_count = shard_count
        self._poll_s = poll_s
        self.timing = timing
        self.process_id = process_id or new_process_id()
        self._on_claimed = on_claimed
        self._started_at = utcnow()
        self._last_beat = 0.0  # monotonic time of the last heartbeat written
        self._backlog: dict[int, deque[Command]] = {}  # claimed, not started, per guild
        self._runners: dict[int, asyncio.Task[None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._outcomes: list[tuple[int, Outcome]] = []
        self._outcome_ready = asyncio.Event()
        self._outcome_task: asyncio.Task[None] | None = None
        self._unwritten = 0  # outcomes handed to the writer and not yet stored (or dropped)
        self._mine: set[int] = set()  # claimed by us, outcome not stored yet
        self._starved = False  # the claim loop stopped for lack of room; wake it when room frees up
        self._pg = commands.postgres
        self.executed = 0

    async def start(self) -> None:
        """Write the first heartbeat, then start beating, claiming and maintaining."""
        await self._beat()
        self._tasks = [
            asyncio.create_task(self._heartbeat_loop(), name="zilean-bus-heartbeat"),
            asyncio.create_task(self._claim_loop(), name="zilean-bus-claim"),
            asyncio.create_task(self._maintenance_loop(), name="zilean-bus-maintenance"),
        ]
        self._outcome_task = asyncio.create_task(self._outcome_loop(), name="zilean-bus-outcomes")
        log.info("bus worker %s runs shards %s of %d", self.process_id, self.shard_ids, self.shard_count)

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop claiming, give back what never started, let running commands finish, say goodbye."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        unstarted = [command.id for backlog in self._backlog.values() for command in backlog]
        self._backlog.clear()
        self._mine.difference_update(unstarted)
        with contextlib.suppress(*TRANSIENT_ERRORS):
            released = await self._commands.release(unstarted, self.process_id)
            if released:
                log.info("gave %d unstarted command(s) back to the queue", released)
        runners = list(self._runners.values())
        if runners:
            await asyncio.wait(runners, timeout=grace_s)
        for runner in runners:
            runner.cancel()
        if self._outcome_task is not None:
            await self._flush_outcomes(grace_s)
            await cancel_and_wait(self._outcome_task)
            self._outcome_task = None
        with contextlib.suppress(*TRANSIENT_ERRORS):
            await self._heartbeats.remove(self.process_id)

    # --- loops -------------------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.timing.heartbeat_s)
            try:
                await self._beat()
            except TRANSIENT_ERRORS as exc:
                log.warning("bus heartbeat failed: %s", describe(exc))

    async def _beat(self) -> None:
        await self._heartbeats.beat(self.process_id, self.shard_ids, self.shard_count, self._started_at)
        self._last_beat = time.monotonic()

    async def _claim_loop(self) -> None:
        while True:
            ticket = self._wakeup.ticket(COMMANDS)
            try:
                claimed = await self._claim_some()
            except TRANSIENT_ERRORS as exc:
                log.warning("bus cannot claim commands: %s", describe(exc))
                await Wakeup.wait(ticket, 1.0)
                continue
            if claimed == self.timing.claim_batch:
                continue  # there may be more right now
            await Wakeup.wait(ticket, self._poll_s())

    async def _claim_some(self) -> int:
        room = self.timing.max_in_flight - self._in_flight()
        if room <= 0:
            self._starved = True
            return 0
        # SQLite: a read first, so idle polling never takes the database's single write lock.
        if not self._pg and not await self._commands.has_pending(self.shard_ids, self.shard_count):
            return 0
        limit = min(room, self.timing.claim_batch)
        batch = await self._commands.claim(self.process_id, self.shard_ids, self.shard_count, limit)
        self._mine.update(command.id for command in batch)
        if batch and self._on_claimed is not None:
            await self._on_claimed(batch)
        for command in batch:
            self._backlog.setdefault(command.guild_id, deque()).append(command)
            if command.guild_id not in self._runners:
                runner = asyncio.create_task(self._run_guild(command.guild_id))
                self._runners[command.guild_id] = runner
        return len(batch)

    def _in_flight(self) -> int:
        return sum(len(backlog) for backlog in self._backlog.values()) + len(self._runners)

    async def _run_guild(self, guild_id: int) -> None:
        try:
            while backlog := self._backlog.get(guild_id):
                command = backlog.popleft()
                await self._execute(command)
                if self._starved:
                    self._starved = False
                    self._wakeup.notify(COMMANDS)
        finally:
            self._runners.pop(guild_id, None)
            if not self._backlog.get(guild_id):
                self._backlog.pop(guild_id, None)

    async def _execute(self, command: Command) -> None:
        # If our heartbeat may have gone stale, another process may have failed this command already.
        if time.monotonic() - self._last_beat > self.timing.stale_after_s / 2:
            if not await self._commands.still_mine(command.id, self.process_id):
                log.warning(
                    "command %d was taken from this process while it was stalled; not run", command.id
                )
                self._mine.discard(command.id)
                return
        try:
            outcome = await self._handler(command)
        except ZileanError as exc:
            outcome = Outcome.failed(exc.message)
        except Exception:
            log.exception("command %d (%s) crashed its handler", command.id, command.action)
            outcome = Outcome.failed(HANDLER_CRASHED)
        self.executed += 1
        self._outcomes.append((command.id, outcome))
        self._unwritten += 1
        self._outcome_ready.set()

    async def _outcome_loop(self) -> None:
        """Write outcomes as they come, all that piled up in one transaction."""
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            batch, self._outcomes = self._outcomes, []
            if not batch:
                continue
            try:
                stored = await self._commands.finish_many(self.process_id, batch)
            except TRANSIENT_ERRORS as exc:
                log.warning("cannot record %d outcome(s) yet: %s", len(batch), describe(exc))
                self._outcomes[:0] = batch
                self._outcome_ready.set()
                await asyncio.sleep(0.5)
                continue
            self._unwritten -= len(batch)
            self._mine.difference_update(command_id for command_id, _ in batch)
            if len(stored) < len(batch):
                lost = sorted({command_id for command_id, _ in batch} - set(stored))
                log.warning("outcomes of commands %s dropped: they were no longer claimed by us", lost)

    async def _flush_outcomes(self, grace_s: float) -> None:
        for _ in range(int(grace_s / 0.05) + 1):
            if not self._unwritten:
                return
            self._outcome_ready.set()
            await asyncio.sleep(0.05)

    async def _release_lost_claims(self, older_than: timedelta) -> None:
        """Claims of ours we never received (the claim committed but its reply was lost) go back.

        They never reached the handler, so handing them back cannot run anything twice.
        """
        claimed = await self._commands.claimed_by(self.process_id, older_than)
        lost = [command_id for command_id in claimed if command_id not in self._mine]
        if lost:
            released = await self._commands.release(lost, self.process_id)
            log.warning("gave back %d command(s) whose claim reply was lost", released)

    async def _maintenance_loop(self) -> None:
        stale = timedelta(seconds=self.timing.stale_after_s)
        expiry = timedelta(seconds=self.timing.command_expiry_s)
        next_prune = time.monotonic()
        while True:
            try:
                await self._commands.fail_orphans(stale)
                await self._commands.expire_offline(expiry, stale)
                await self._release_lost_claims(stale)
                if time.monotonic() >= next_prune:
                    next_prune = time.monotonic() + self.timing.prune_every_s
                    await prune(self._commands, self._events, self.timing)
            except TRANSIENT_ERRORS as exc:
                log.warning("bus maintenance failed: %s", describe(exc))
            await asyncio.sleep(self.timing.maintenance_s)


async def prune(commands: CommandQueue, events: EventLog, timing: WorkerTiming) -> tuple[int, int]:
    """Delete old finished commands and old events (and audit entries past their guild's retention);
    returns how many commands and events."""
    old_commands = await commands.prune(timedelta(seconds=timing.keep_commands_s))
    old_events = await events.prune(timedelta(seconds=timing.keep_events_s))
    if old_commands or old_events:
        log.info("pruned %d command(s) and %d event(s)", old_commands, old_events)
    old_audit = await AuditRepo(commands.connector).prune_expired()
    if old_audit:
        log.info(
            "pruned %d audit log entr%s past their retention", old_audit, "y" if old_audit == 1 else "ies"
        )
    return old_commands, old_events
