"""The command half of the bus (web → bot): queue, claim exactly once, finish, wait, expire, recover.

Claiming is one atomic statement: PostgreSQL locks the oldest pending rows of the claimer's shards
with FOR UPDATE SKIP LOCKED inside an UPDATE … RETURNING, so racing processes take disjoint rows;
SQLite runs the same UPDATE … RETURNING inside BEGIN IMMEDIATE, which holds the only write lock.

A claimed command is never handed out again. If its claimer dies before writing the outcome (its
heartbeat goes stale), the command is marked failed with BOT_RESTARTED rather than re-queued: the
bot may have acted on it already (a skip, a play), and running it twice is worse than asking the
user to send it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, insert, literal, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from zilean.db import schema
from zilean.db.bus.heartbeats import Heartbeats
from zilean.db.bus.listener import outcome_key
from zilean.db.bus.records import (
    BOT_OFFLINE,
    BOT_RESTARTED,
    FINAL_STATUSES,
    Command,
    Outcome,
    command_from,
)
from zilean.db.bus.signal import COMMANDS, OUTCOMES, Wakeup
from zilean.db.connector import Connector, as_utc, utcnow

log = logging.getLogger(__name__)

_c = schema.commands.c
NOTIFY_IDS_PER_PAYLOAD = 300  # 300 ids × ≤ 20 characters < 8000 bytes


def shard_filter(shard_ids: Sequence[int], shard_count: int) -> ColumnElement[bool]:
    """SQL for "the guild's shard is one of mine": (guild_id >> 22) % shard_count IN (…)."""
    if shard_count <= 1:
        return true()
    shard = _c.guild_id.op(">>")(literal(22)) % literal(shard_count)
    return shard.in_([int(i) for i in shard_ids])


async def notify_ids(conn: AsyncConnection, channel: str, ids: Sequence[int]) -> None:
    """NOTIFY the ids, comma-separated, in payloads well under PostgreSQL's 8000-byte limit."""
    for start in range(0, len(ids), NOTIFY_IDS_PER_PAYLOAD):
        payload = ",".join(str(i) for i in ids[start : start + NOTIFY_IDS_PER_PAYLOAD])
        await conn.execute(select(func.pg_notify(channel, payload)))


class CommandQueue:
    """Everything both sides do with `commands` rows."""

    def __init__(self, db: Connector, wakeup: Wakeup, heartbeats: Heartbeats) -> None:
        self._db = db
        self._wakeup = wakeup
        self._heartbeats = heartbeats
        self._pg = db.dialect == "postgresql"

    @property
    def connector(self) -> Connector:
        """The database connection the queue writes through (maintenance prunes the audit log on it)."""
        return self._db

    @property
    def postgres(self) -> bool:
        """True on PostgreSQL (claims lock rows; NOTIFY wakes other processes)."""
        return self._pg

    # --- web / CLI side ----------------------------------------------------------------------

    async def submit(
        self,
        guild_id: int,
        action: str,
        payload: dict[str, Any] | None = None,
        user_id: int | None = None,
        origin: str = "web",
    ) -> Command:
        """Queue a command for the bot that owns the guild; returns the stored row."""
        values = {
            "guild_id": guild_id,
            "action": action,
            "payload": payload or {},
            "user_id": user_id,
            "origin": origin,
            "status": "pending",
            "created_at": utcnow(),
        }
        async with self._db.write() as conn:
            row = (
                (await conn.execute(insert(schema.commands).values(**values).returning(*_c))).mappings().one()
            )
            if self._pg:
                await conn.execute(select(func.pg_notify(COMMANDS, str(row["id"]))))
        self._wakeup.notify(COMMANDS)
        return command_from(row)

    async def submit_many(self, commands: Sequence[tuple[int, str, dict[str, Any], int | None]]) -> list[int]:
        """Queue several (guild_id, action, payload, user_id) commands in one transaction; their ids."""
        if not commands:
            return []
        now = utcnow()
        rows = [
            {"guild_id": g, "action": a, "payload": p, "user_id": u, "status": "pending", "created_at": now}
            for g, a, p, u in commands
        ]
        async with self._db.write() as conn:
            # One multi-row INSERT; ids come from one sequence in row order, RETURNING may not keep it.
            result = await conn.execute(insert(schema.commands).values(rows).returning(_c.id))
            ids = sorted(int(i) for i in result.scalars())
            if self._pg and ids:
                await conn.execute(select(func.pg_notify(COMMANDS, str(ids[-1]))))
        self._wakeup.notify(COMMANDS)
        return ids

    async def get(self, command_id: int) -> Command | None:
        """The command as stored now, or None (unknown or pruned)."""
        async with self._db.read() as conn:
            row = (await conn.execute(select(schema.commands).where(_c.id == command_id))).mappings().first()
        return None if row is None else command_from(row)

    async def wait(
        self,
        command_id: int,
        timeout_s: float,
        *,
        poll_s: float,
        expire_after: timedelta | None = None,
        stale_after: timedelta | None = None,
    ) -> Command:
        """Wait until the command is final or `timeout_s` passes; returns it as stored then.

        With `expire_after`/`stale_after`, a command still pending that long while no live bot owns
        its guild is expired here with BOT_OFFLINE (nobody else may be running maintenance).
        """
        deadline = time.monotonic() + timeout_s
        key = outcome_key(command_id)
        while True:
            ticket = self._wakeup.ticket(key)
            command = await self.get(command_id)
            if command is None:
                raise LookupError(f"command {command_id} does not exist")
            if command.final:
                self._wakeup.discard(key, ticket)
                return command
            if expire_after is not None and stale_after is not None:
                if await self._expire_one_if_offline(command, expire_after, stale_after):
                    continue
            left = deadline - time.monotonic()
            if left <= 0:
                self._wakeup.discard(key, ticket)
                return command
            await Wakeup.wait(ticket, min(left, poll_s))

    async def cancel_if_pending(self, command_id: int, reason: str) -> bool:
        """Expire the command unless a bot already claimed it; True if it was expired."""
        return await self._expire([command_id], reason) == 1

    async def pending_summary(
        self, shard_ids: Sequence[int] | None = None, shard_count: int = 1
    ) -> tuple[int, datetime | None]:
        """How many commands wait to be claimed (of these shards, or all) and when the oldest was queued."""
        query = select(func.count(), func.min(_c.created_at)).where(_c.status == "pending")
        if shard_ids is not None:
            query = query.where(shard_filter(shard_ids, shard_count))
        async with self._db.read() as conn:
            count, oldest = (await conn.execute(query)).one()
        return int(count), as_utc(oldest)

    # --- bot side ---------------------------------------------------------------------------

    async def has_pending(self, shard_ids: Sequence[int], shard_count: int) -> bool:
        """A cheap read: is anything pending for these shards? (SQLite polls this, not the claim.)"""
        query = select(_c.id).where(_c.status == "pending", shard_filter(shard_ids, shard_count)).limit(1)
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def claim(
        self, process_id: str, shard_ids: Sequence[int], shard_count: int, limit: int
    ) -> list[Command]:
        """Atomically take up to `limit` oldest pending commands of these shards; oldest first."""
        oldest = (
            select(_c.id)
            .where(_c.status == "pending", shard_filter(shard_ids, shard_count))
            .order_by(_c.id)
            .limit(limit)
        )
        if self._pg:
            oldest = oldest.with_for_update(skip_locked=True)
        stmt = (
            update(schema.commands)
            .where(_c.id.in_(oldest.scalar_subquery()), _c.status == "pending")
            .values(status="claimed", claimed_by=process_id, claimed_at=utcnow())
            .returning(*_c)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return sorted((command_from(row) for row in rows), key=lambda command: command.id)

    async def still_mine(self, command_id: int, process_id: str) -> bool:
        """True if the command is still claimed by this process (nobody failed it meanwhile)."""
        query = select(_c.id).where(_c.id == command_id, _c.status == "claimed", _c.claimed_by == process_id)
        async with self._db.read() as conn:
            return (await conn.execute(query)).first() is not None

    async def finish(self, command_id: int, process_id: str, outcome: Outcome) -> bool:
        """Record the outcome of a command this process claimed; False if it was no longer ours."""
        stmt = (
            update(schema.commands)
            .where(_c.id == command_id, _c.status == "claimed", _c.claimed_by == process_id)
            .values(status=outcome.status, outcome=outcome.message, finished_at=utcnow())
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
            if result.rowcount and self._pg:
                await conn.execute(select(func.pg_notify(OUTCOMES, str(command_id))))
        if result.rowcount:
            self._wakeup.notify(outcome_key(command_id))
        return bool(result.rowcount)

    async def finish_many(self, process_id: str, outcomes: Sequence[tuple[int, Outcome]]) -> list[int]:
        """Record several outcomes in one statement (one write lock on SQLite); returns those stored."""
        if not outcomes:
            return []
        by_id = dict(outcomes)
        stmt = (
            update(schema.commands)
            .where(_c.id.in_(list(by_id)), _c.status == "claimed", _c.claimed_by == process_id)
            .values(
                status=case({i: o.status for i, o in by_id.items()}, value=_c.id),
                outcome=case({i: o.message for i, o in by_id.items()}, value=_c.id),
                finished_at=utcnow(),
            )
            .returning(_c.id)
        )
        return await self._finish_many(stmt)

    async def claimed_by(self, process_id: str, older_than: timedelta) -> list[int]:
        """Ids this process claimed more than `older_than` ago that still have no outcome."""
        cutoff = utcnow() - older_than
        query = select(_c.id).where(
            _c.status == "claimed", _c.claimed_by == process_id, _c.claimed_at < cutoff
        )
        async with self._db.read() as conn:
            return [int(row[0]) for row in (await conn.execute(query)).all()]

    async def release(self, command_ids: Sequence[int], process_id: str) -> int:
        """Hand never-started claimed commands back to the queue (clean shutdown); returns how many."""
        if not command_ids:
            return 0
        stmt = (
            update(schema.commands)
            .where(_c.id.in_(list(command_ids)), _c.status == "claimed", _c.claimed_by == process_id)
            .values(status="pending", claimed_by=None, claimed_at=None)
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
            if result.rowcount and self._pg:
                await conn.execute(select(func.pg_notify(COMMANDS, "released")))
        self._wakeup.notify(COMMANDS)
        return int(result.rowcount)

    # --- maintenance (any process may run it; every statement is guarded by the status) -----

    async def fail_orphans(self, stale_after: timedelta) -> int:
        """Mark failed the claimed commands whose claimer has no fresh heartbeat."""
        live = [process.process_id for process in await self._heartbeats.live(stale_after)]
        # A claim younger than stale_after may belong to a process whose first beat is in flight.
        cutoff = utcnow() - stale_after
        query = select(_c.id).where(
            _c.status == "claimed",
            _c.claimed_at < cutoff,
            or_(_c.claimed_by.is_(None), _c.claimed_by.not_in(live)) if live else true(),
        )
        async with self._db.read() as conn:
            ids = [row[0] for row in (await conn.execute(query)).all()]
        if not ids:
            return 0
        stmt = (
            update(schema.commands)
            .where(
                _c.id.in_(ids),
                _c.status == "claimed",
                or_(_c.claimed_by.is_(None), _c.claimed_by.not_in(live)) if live else true(),
            )
            .values(status="failed", outcome=BOT_RESTARTED, finished_at=utcnow())
            .returning(_c.id)
        )
        done = len(await self._finish_many(stmt))
        if done:
            log.warning("marked %d command(s) failed: their bot process stopped before running them", done)
        return done

    async def expire_offline(self, expire_after: timedelta, stale_after: timedelta) -> int:
        """Expire commands pending longer than `expire_after` whose guild has no live bot process."""
        cutoff = utcnow() - expire_after
        query = select(_c.id, _c.guild_id).where(_c.status == "pending", _c.created_at < cutoff).limit(1000)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        if not rows:
            return 0
        live = await self._heartbeats.live(stale_after)
        orphaned = [row[0] for row in rows if not any(process.owns(row[1]) for process in live)]
        return await self._expire(orphaned, BOT_OFFLINE)

    async def prune(self, older_than: timedelta) -> int:
        """Delete final commands older than `older_than` (the newest row always stays: ids never repeat)."""
        cutoff = utcnow() - older_than
        newest = select(func.max(_c.id)).scalar_subquery()
        stmt = delete(schema.commands).where(
            _c.status.in_(FINAL_STATUSES), _c.created_at < cutoff, _c.id < newest
        )
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return int(result.rowcount)

    async def _expire_one_if_offline(
        self, command: Command, expire_after: timedelta, stale_after: timedelta
    ) -> bool:
        if command.status != "pending" or command.created_at is None:
            return False
        if utcnow() - command.created_at < expire_after:
            return False
        if await self._heartbeats.owner_of(command.guild_id, stale_after) is not None:
            return False
        return await self._expire([command.id], BOT_OFFLINE) == 1

    async def _expire(self, command_ids: Sequence[int], reason: str) -> int:
        if not command_ids:
            return 0
        stmt = (
            update(schema.commands)
            .where(and_(_c.id.in_(list(command_ids)), _c.status == "pending"))
            .values(status="expired", outcome=reason, finished_at=utcnow())
            .returning(_c.id)
        )
        return len(await self._finish_many(stmt))

    async def _finish_many(self, stmt: Any) -> list[int]:
        """Run an UPDATE … RETURNING id that finalises commands, and wake their waiters."""
        async with self._db.write() as conn:
            ids = [row[0] for row in (await conn.execute(stmt)).all()]
            if self._pg:
                await notify_ids(conn, OUTCOMES, ids)
        for command_id in ids:
            self._wakeup.notify(outcome_key(command_id))
        return ids
