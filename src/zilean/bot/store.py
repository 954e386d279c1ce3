"""The bot's access to the database: the repositories, plus the mapping to core values (policy, loop mode)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from zilean.bot.queue_sync import Insert, Move, Pop, QueueOp, Remove, Rewrite
from zilean.core.permissions import GuildPolicy
from zilean.core.queue import LoopMode
from zilean.core.track import Track
from zilean.db import records
from zilean.db.bus.events import EventLog
from zilean.db.connector import Connector
from zilean.db.policy import policy_from
from zilean.db.records import HistoryEntry
from zilean.db.records import QueueEntry as StoredEntry
from zilean.db.repos.audit import AuditRepo
from zilean.db.repos.eq_presets import EqPresetsRepo
from zilean.db.repos.history import HistoryRepo
from zilean.db.repos.permissions import PermissionsRepo
from zilean.db.repos.player_state import PlayerStateRepo
from zilean.db.repos.queue import QueueRepo
from zilean.db.repos.settings import GuildSettingsRepo

log = logging.getLogger(__name__)

# The saved player state's record type (named PlayerState, or PlayerSnapshot in newer db code).
PlayerSnapshot: Any = getattr(records, "PlayerSnapshot", None) or records.PlayerState
# The stored loop mode names: "track" or "one" for what the core queue calls "one".
_FROM_DB = {"off": LoopMode.OFF, "one": LoopMode.ONE, "track": LoopMode.ONE, "queue": LoopMode.QUEUE}
MAX_RESTORED_ENTRIES = 10_000


def loop_to_db(mode: LoopMode) -> Any:
    """The stored name of a loop mode (whichever spelling this schema accepts)."""
    if mode is LoopMode.ONE and "track" in records.LoopMode.__args__:
        return "track"
    return mode.value


def loop_from_db(name: str) -> LoopMode:
    """The core loop mode of a stored name."""
    return _FROM_DB.get(name, LoopMode.OFF)


class Store:
    """Every repository the bot uses, over one connector."""

    def __init__(self, connector: Connector, events: EventLog | None = None) -> None:
        self.connector = connector
        self.events = events  # the bus's event log: the dashboard hears about every change
        self.settings = GuildSettingsRepo(connector)
        self.eq_presets = EqPresetsRepo(connector)
        self.queue = QueueRepo(connector)
        self.player = PlayerStateRepo(connector)
        self.history = HistoryRepo(connector)
        self.permissions = PermissionsRepo(connector)
        self.audit = AuditRepo(connector)

    @classmethod
    def from_engine(cls, engine: AsyncEngine, events: EventLog | None = None) -> Store:
        """A store over an engine the caller built (and will dispose)."""
        return cls(Connector(engine), events)

    async def policy(self, guild_id: int) -> GuildPolicy:
        """The guild's permission policy, read fresh (edits from the dashboard apply at once)."""
        settings = await self.settings.get(guild_id)
        return policy_from(settings, await self.permissions.rules(guild_id))

    async def queued(self, guild_id: int) -> list[StoredEntry]:
        """Every upcoming entry, in play order."""
        return await self.queue.page(guild_id, 0, MAX_RESTORED_ENTRIES)

    async def apply(self, guild_id: int, ops: Sequence[QueueOp], tracks: dict[int, Track]) -> None:
        """Mirror queue operations (see queue_sync) into the queue table, then publish a "queue" event."""
        await self._apply(guild_id, ops, tracks)
        if self.events is not None:
            await self.events.publish(guild_id, "queue", {})

    async def _apply(self, guild_id: int, ops: Sequence[QueueOp], tracks: dict[int, Track]) -> None:
        for op in ops:
            if isinstance(op, Pop):
                for _ in range(op.count):
                    await self.queue.pop_next(guild_id)
            elif isinstance(op, Insert):
                await self.queue.insert(guild_id, op.index, [tracks[i] for i in op.ids])
            elif isinstance(op, Remove):
                await self.queue.remove(guild_id, op.index)
            elif isinstance(op, Move):
                await self.queue.move(guild_id, op.source, op.destination)
            elif isinstance(op, Rewrite):
                await self.queue.clear(guild_id)
                await self.queue.append(guild_id, [tracks[i] for i in op.ids])

    async def recent_history(self, guild_id: int, limit: int = 15) -> list[HistoryEntry]:
        """The most recently played tracks."""
        return await self.history.recent(guild_id, limit)

    async def save_player(self, state: Any, *, publish: bool = True) -> None:
        """Store the player's state (the resume point after a restart); publish it unless told not to."""
        saved = await self.player.save(state)
        if publish and self.events is not None:
            await self.events.publish_player(saved)
