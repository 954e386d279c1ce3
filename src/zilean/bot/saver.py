"""Saves a guild session to the database in the order things happened, off the command path.

Each save is computed when it is asked for (a snapshot), then written by one worker task per
guild, so writes never reorder and a slow database never delays a reply or the audio. Saves
happen on changes only; while tracks play, `reanchor_all` moves every playing guild's position
anchor every `HEARTBEAT_S` in ONE transaction for the whole process (not one per guild), so a
killed bot resumes within about that much of where it was.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from zilean.bot.queue_sync import plan
from zilean.bot.store import PlayerSnapshot, Store, loop_to_db
from zilean.core.track import Track
from zilean.db.connector import utcnow

if TYPE_CHECKING:
    from zilean.bot.session import GuildSession

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0  # a restart resumes within ±HEARTBEAT_S / 2 of the truth
Job = Callable[[], Awaitable[object]]


class Saver:
    """Ordered, asynchronous persistence of one guild session."""

    def __init__(self, store: Store, guild_id: int, persisted_ids: list[int] | None = None) -> None:
        self.store = store
        self.guild_id = guild_id
        self._session: GuildSession | None = None
        self._persisted: list[int] = list(persisted_ids or [])
        self._jobs: asyncio.Queue[Job | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._latest: Any = None  # the newest player snapshot not yet written
        self._publish = False

    def bind(self, session: GuildSession) -> None:
        """Start saving `session` (called once by the session's owner)."""
        self._session = session
        self._worker = asyncio.get_running_loop().create_task(self._run(), name=f"saver-{self.guild_id}")

    def save_now(self, position_ms: int | None = None) -> None:
        """Snapshot the queue and the player state now; write them in order."""
        session = self._session
        if session is None:
            return
        after = [entry.id for entry in session.queue.upcoming]
        ops = plan(self._persisted, after)
        if ops:
            tracks = {entry.id: entry.track for entry in session.queue.upcoming}
            self._persisted = after
            self._push(lambda: self.store.apply(self.guild_id, ops, tracks))
        self._save_state(self._snapshot(session, position_ms), publish=True)

    def played(self, track: Track) -> None:
        """Record a track in the play history."""
        self._push(lambda: self.store.history.record(self.guild_id, track))

    async def flush(self) -> None:
        """Wait until everything asked so far is written."""
        await self._jobs.join()

    async def forget(self) -> None:
        """The bot left voice for good: drop the saved player and queue."""
        self._persisted = []
        self._push(lambda: self.store.queue.clear(self.guild_id))
        self._push(lambda: self.store.player.delete(self.guild_id))
        await self.flush()

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._worker is not None and not self._worker.done():
            self._jobs.put_nowait(None)
            await asyncio.wait({self._worker}, timeout=10)

    def _push(self, job: Job) -> None:
        self._jobs.put_nowait(job)

    def _save_state(self, state: Any, *, publish: bool) -> None:
        """Queue a player-state write; snapshots taken before it runs are folded into it (bursts)."""
        first = self._latest is None
        self._latest = state
        self._publish = self._publish or publish
        if first:
            self._push(self._write_latest)

    async def _write_latest(self) -> None:
        state, publish = self._latest, self._publish
        self._latest, self._publish = None, False
        if state is not None:
            await self.store.save_player(state, publish=publish)

    def _snapshot(self, session: GuildSession, position_ms: int | None) -> Any:
        current = session.current
        voice = session.voice
        channel = getattr(voice, "channel", None) if voice is not None and voice.is_connected() else None
        return PlayerSnapshot(
            guild_id=self.guild_id,
            voice_channel_id=channel.id if channel is not None else None,
            text_channel_id=session.text_channel_id,
            track=current.track if current is not None else None,
            position_ms=max(0, session.position_ms if position_ms is None else position_ms),
            anchor_at=utcnow(),
            paused=session.paused,
            volume=session.volume,
            effects=session.effects,
            loop_mode=loop_to_db(session.queue.loop),
        )

    async def _run(self) -> None:
        while True:
            job = await self._jobs.get()
            try:
                if job is None:
                    return
                await job()
            except Exception:
                log.exception("could not save the player of guild %s", self.guild_id)
            finally:
                self._jobs.task_done()

    def position(self) -> int | None:
        """The position to re-anchor while a track plays, else None (paused, idle: the last save holds)."""
        session = self._session
        if session is None or session.current is None or session.paused:
            return None
        return max(0, session.position_ms)


async def reanchor_all(store: Store, savers: Callable[[], Iterable[Saver]]) -> None:
    """Every `HEARTBEAT_S`: one write moving the anchors of all playing guilds (not published: the
    last event's anchor already tells the dashboard where playback is)."""
    while True:
        await asyncio.sleep(HEARTBEAT_S)
        at = utcnow()
        positions = [(s.guild_id, p) for s in list(savers()) if (p := s.position()) is not None]
        try:
            await store.player.reanchor(positions, at)
        except Exception:
            log.exception("could not re-anchor %d players", len(positions))
