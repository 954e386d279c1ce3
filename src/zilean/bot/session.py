"""One guild's music: the queue, the player, the voice connection, and saving all of it as it changes.

Every change goes through a method here, on the event loop, under the session's lock. Player
events arrive on the loop (the player hops threads with call_soon_threadsafe) and are handled
under the same lock, so a command and a track ending never interleave.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import discord

from zilean.bot import embeds
from zilean.bot.audio_source import PlayerAudioSource
from zilean.bot.metrics import MeteredOpusStream
from zilean.bot.saver import Saver
from zilean.core.equalizer import FLAT, Equalizer
from zilean.core.errors import QueueError, ZileanError
from zilean.core.events import EndReason, PlayerEvent, PlayerState, TrackEnded, TrackPaused, TrackStarted
from zilean.core.logctx import guild_context
from zilean.core.pipeline import OpusStream, PlaybackSpec
from zilean.core.player import Player
from zilean.core.queue import LoopMode, Placement, Queue, QueueEntry
from zilean.core.sources import Resolver
from zilean.core.sources.autoplay import RECENT_HISTORY
from zilean.core.track import Track

if TYPE_CHECKING:
    from zilean.bot.nowplaying import Announcer

log = logging.getLogger(__name__)

AUTOPLAY_TIMEOUT_S = 30.0  # an online related search that takes longer is given up


@dataclass(eq=False)
class PlayTag:
    """Identifies one start of one queue entry (a repeat under loop ONE gets a new tag)."""

    entry_id: int


def predicted_next(queue: Queue) -> QueueEntry | None:
    """The entry that will play when the current one finishes, as `Queue.advance(FINISHED)` would pick it."""
    if queue.current is not None and queue.loop is LoopMode.ONE:
        return queue.current
    if queue.upcoming:
        return queue.upcoming[0]
    if queue.loop is LoopMode.QUEUE:
        return queue.current
    return None


class GuildSession:
    """The music state of one guild."""

    def __init__(
        self,
        guild_id: int,
        resolver: Resolver,
        ffmpeg: str,
        saver: Saver,
        announcer: Announcer,
        *,
        volume: int = 100,
        effects: Sequence[str] = (),
        loop: LoopMode = LoopMode.OFF,
        eq: Equalizer = FLAT,
        fair_queue: bool = False,
        autoplay: bool = False,
    ) -> None:
        self.guild_id = guild_id
        self.resolver = resolver
        self.queue = Queue()
        self.queue.loop = loop
        self.volume = volume
        self.effects: tuple[str, ...] = tuple(effects)
        self.eq = eq  # the guild's equalizer (kept in guild_settings, not in the player state)
        self.fair_queue = fair_queue  # the server's setting: new tracks interleave by requester
        self.autoplay = autoplay  # the server's setting: a related track follows when the queue runs out
        self._autoplay_pick: object | None = None  # the pending pick; a newer command voids it
        self.voice: discord.VoiceClient | None = None
        self.text_channel_id: int | None = None
        self.skip_votes: set[int] = set()
        self.lock = asyncio.Lock()
        self.saver = saver
        self.announcer = announcer
        self.resume_at_ms: int | None = None  # restored paused: resume() starts the track here
        self.source: PlayerAudioSource | None = None
        self._ffmpeg = ffmpeg
        self._loop = asyncio.get_running_loop()
        self.player = Player(self._stream, self._on_player_event, self._loop)
        self._playing: PlayTag | None = None
        self._preloaded: PlayTag | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.on_idle: Callable[[], None] = lambda: None
        saver.bind(self)

    # --- reading ---------------------------------------------------------------------------

    @property
    def current(self) -> QueueEntry | None:
        """The entry that is playing (or paused, or loading)."""
        return self.queue.current

    @property
    def paused(self) -> bool:
        """True while the current track is held."""
        return self.player.state is PlayerState.PAUSED or (
            self.current is not None and self.resume_at_ms is not None
        )

    @property
    def position_ms(self) -> int:
        """How far into the current track playback is."""
        if self.resume_at_ms is not None:
            return self.resume_at_ms
        return self.player.position_ms

    @property
    def is_active(self) -> bool:
        """True when a track is loaded (playing, loading or paused)."""
        return self.current is not None

    # --- queue changes ---------------------------------------------------------------------

    async def add(
        self, tracks: Sequence[Track], placement: Placement = Placement.END
    ) -> tuple[list[QueueEntry], int]:
        """Queue tracks, starting playback if idle; returns the entries and the first one's place (0: now)."""
        async with self.lock:
            entries = self.queue.add(list(tracks), placement, fair=self.fair_queue)
            if not entries:
                return entries, 0
            if self.current is None or placement is Placement.NOW:
                if self.current is None:
                    self.queue.skip()  # nothing was playing: the first new entry becomes current
                await self._start_current()
                position = 0
            else:
                position = self.queue.position_of(entries[0].id)
                self._queue_changed()
            self.saver.save_now()
            return entries, position

    async def skip(self, to_position: int | None = None) -> QueueEntry | None:
        """Move on now (or jump to the n-th upcoming entry); returns what plays next."""
        async with self.lock:
            if self.current is None:
                raise QueueError("Nothing is playing.")
            finished = self.current
            entry = self.queue.skip_to(to_position) if to_position else self.queue.skip()
            self.saver.played(finished.track)
            await self._play_or_stop(entry, finished.track)
            return entry

    async def previous(self) -> QueueEntry:
        """Go back to the track played before this one."""
        async with self.lock:
            entry = self.queue.previous()
            await self._start_current()
            return entry

    async def replay(self) -> None:
        """Start the current track again from the beginning."""
        await self.seek(0)

    async def stop(self) -> None:
        """Stop playing and forget the queue (history stays)."""
        async with self.lock:
            self._autoplay_pick = None
            if self.current is not None:
                self.saver.played(self.current.track)
            self.queue.stop()
            self._playing = self._preloaded = None
            self.resume_at_ms = None
            self.player.stop()
            self.skip_votes.clear()
            self.saver.save_now()
        self.on_idle()

    async def edit(self, change: Callable[[Queue], object]) -> object:
        """Apply a queue edit (remove, move, shuffle, clear, loop) and save it."""
        async with self.lock:
            result = change(self.queue)
            self._queue_changed()
            self.saver.save_now()
            return result

    # --- playback controls ----------------------------------------------------------------

    async def pause(self) -> None:
        """Hold playback; discord.py stops sending packets."""
        async with self.lock:
            if self.current is None:
                raise QueueError("Nothing is playing.")
            if self.player.state is PlayerState.PAUSED or self.resume_at_ms is not None:
                raise ZileanError("Already paused.")
            self.player.pause()
            if self.voice is not None and self.voice.is_playing():
                self.voice.pause()
            self.saver.save_now()

    async def resume(self) -> None:
        """Continue after a pause."""
        async with self.lock:
            if self.current is None:
                raise QueueError("Nothing is playing.")
            if self.resume_at_ms is not None:
                await self._start_current(self.resume_at_ms)
                return
            if self.player.state is not PlayerState.PAUSED:
                raise ZileanError("Not paused.")
            self.player.resume()
            if self.voice is not None and self.voice.is_paused():
                self.voice.resume()
            self._ensure_audio()
            self.saver.save_now()

    async def seek(self, position_ms: int) -> None:
        """Continue the current track from `position_ms`."""
        async with self.lock:
            entry = self.current
            if entry is None:
                raise QueueError("Nothing is playing.")
            duration = entry.track.duration_ms
            if duration is not None and position_ms >= duration:
                raise ZileanError("That is past the end of the track.")
            if self.resume_at_ms is not None:
                self.resume_at_ms = position_ms
            elif self.player.state is PlayerState.IDLE:
                await self._start_current(position_ms)
            else:
                self.player.seek(position_ms)
            self.saver.save_now(position_ms)

    async def set_volume(self, percent: int) -> None:
        """Change the volume users see (0–200 %) from the current position on."""
        async with self.lock:
            if not 0 <= percent <= 200:
                raise ZileanError("Volume goes from 0 to 200 %.")
            self.volume = percent
            self.player.set_volume(percent)
            self.saver.save_now()

    async def set_effects(self, effects: Sequence[str]) -> None:
        """Replace the effect stack from the current position on."""
        async with self.lock:
            self.player.set_effects(tuple(effects))  # validates (unknown names, speed bounds)
            self.effects = tuple(effects)
            self.saver.save_now()

    async def set_eq(self, eq: Equalizer) -> None:
        """Replace the equalizer from the current position on (the caller persists it)."""
        async with self.lock:
            self.player.set_eq(eq)
            self.eq = eq

    # --- voice -----------------------------------------------------------------------------

    def attach(self, voice: discord.VoiceClient) -> None:
        """Use this voice connection; keep playing through it if a track is loaded."""
        self.voice = voice
        self.source = None
        if self.player.state is not PlayerState.IDLE:
            self._ensure_audio()
        self.saver.save_now()

    async def close(self) -> None:
        """Stop the player and its ffmpeg processes; wait for pending saves."""
        self._autoplay_pick = None  # shutting down: no related track, and no "found nothing" notice
        self.player.stop()
        await self.saver.close()
        await asyncio.to_thread(self.player.close)

    # --- internals -------------------------------------------------------------------------

    def _stream(self, spec: PlaybackSpec) -> OpusStream:
        return MeteredOpusStream(self._ffmpeg, spec)  # counted in bot.metrics.FFMPEG

    async def _start_current(self, start_ms: int = 0) -> None:
        """Start the current entry (resolving its media); failures are reported and the queue moves on."""
        entry = self.current
        while entry is not None:
            self.resume_at_ms = None
            self.skip_votes.clear()
            tag = self._playing = PlayTag(entry.id)
            self._preloaded = None
            try:
                media = await self.resolver.stream_for(entry.track)
            except ZileanError as exc:
                self.announcer.track_failed(entry.track, exc.message)
                self.saver.played(entry.track)
                entry = self.queue.advance(EndReason.FAILED)
                start_ms = 0
                continue
            spec = PlaybackSpec(media, self.effects, self.volume, start_ms, self.eq)
            self.player.play(spec, tag, duration_ms=entry.track.duration_ms)
            self._ensure_audio()
            self.saver.save_now(start_ms)
            return
        self._went_idle()

    async def _play_or_stop(self, entry: QueueEntry | None, finished: Track | None = None) -> None:
        if entry is None:
            self._playing = self._preloaded = None
            self.player.stop()
            self._went_idle(finished)
        else:
            await self._start_current()

    def _went_idle(self, finished: Track | None = None) -> None:
        """The queue ran out; with autoplay on (and a track that just ended) a related one is picked."""
        self._playing = self._preloaded = None
        self.resume_at_ms = None
        self.saver.save_now()
        if finished is not None and self.autoplay:
            pick = self._autoplay_pick = object()
            self._spawn(self._autoplay(finished, pick))
            return
        self.announcer.queue_finished()
        self.on_idle()

    async def _autoplay(self, finished: Track, pick: object) -> None:
        """Find a related track outside the lock (an online search takes seconds), then play it."""
        with guild_context(self.guild_id):
            track: Track | None = None
            try:
                await self.saver.flush()  # the finished track is in the history now
                played = await self.saver.store.history.recent(self.guild_id, RECENT_HISTORY)
                recent = {entry.track.url for entry in played} | {finished.url}
                async with asyncio.timeout(AUTOPLAY_TIMEOUT_S):
                    track = await self.resolver.related(finished, recent)
            except (ZileanError, TimeoutError) as exc:
                log.info("autoplay found nothing after %r: %r", finished.title, exc)
            except Exception:
                log.exception("autoplay failed after %r", finished.title)
            async with self.lock:
                if pick is not self._autoplay_pick or self.current is not None:
                    return  # stopped, or something was queued meanwhile
                self._autoplay_pick = None
                if track is None or not self.autoplay:
                    if track is None:
                        self.announcer.say(
                            embeds.error(
                                "Autoplay found nothing related to play next, so the music stops here. "
                                "Add more with `play`."
                            )
                        )
                    self._went_idle()
                    return
                self.queue.add([track], Placement.END)
                self.queue.skip()
                await self._start_current()

    def _ensure_audio(self) -> None:
        """Make sure discord.py's AudioPlayer is pulling frames from our player."""
        voice = self.voice
        if voice is None or not voice.is_connected():
            return
        if voice.is_playing() or voice.is_paused():
            if self.player.state is not PlayerState.PAUSED and voice.is_paused():
                voice.resume()
            return
        self.source = PlayerAudioSource(self.player)
        voice.play(self.source, after=self._audio_finished)

    def _audio_finished(self, error: Exception | None) -> None:
        """discord.py's audio thread ended (idle, or the voice connection went away)."""
        if error is not None:
            log.warning("voice playback stopped with an error: %s", error)
        try:
            self._loop.call_soon_threadsafe(self._audio_finished_on_loop)
        except RuntimeError:
            pass  # the loop is closed: shutting down

    def _audio_finished_on_loop(self) -> None:
        if self.player.state is PlayerState.IDLE:
            return
        voice = self.voice
        if voice is not None and voice.is_connected():
            self._ensure_audio()  # a track started in the instant the AudioPlayer was finishing
            return
        # The sender gave up on a voice connection that did not come back: without this the track
        # would stay "playing" with nothing sending it (issue #12). Hold it where it was, and say so.
        with guild_context(self.guild_id):
            position = self.player.position_ms
            log.warning("voice connection lost while playing; holding the track at %d ms", position)
            self.player.stop()
            self.resume_at_ms = position
            self.saver.save_now(position)
            self.announcer.say(
                embeds.error("I lost the voice connection, so the music is paused. Use `resume` to go on.")
            )

    def _queue_changed(self) -> None:
        """The upcoming entries changed: what was preloaded may no longer be next."""
        if self._preloaded is not None:
            nxt = predicted_next(self.queue)
            if nxt is None or nxt.id != self._preloaded.entry_id or nxt is self.current:
                self.player.cancel_preload()
                self._preloaded = None
        self._spawn(self._preload())

    async def _preload(self) -> None:
        async with self.lock:
            nxt = predicted_next(self.queue)
            if nxt is None or self._preloaded is not None or self._playing is None:
                return
            tag = PlayTag(nxt.id)
            self._preloaded = tag
        try:
            media = await self.resolver.stream_for(nxt.track)
        except ZileanError:
            async with self.lock:
                if self._preloaded is tag:
                    self._preloaded = None
            return  # it fails again, and is reported, when its turn comes
        async with self.lock:
            if self._preloaded is not tag or predicted_next(self.queue) is not nxt:
                return
            spec = PlaybackSpec(media, self.effects, self.volume, 0, self.eq)
            self.player.preload(spec, tag, duration_ms=nxt.track.duration_ms)

    def _on_player_event(self, event: PlayerEvent) -> None:
        self._spawn(self._handle(event))

    async def _handle(self, event: PlayerEvent) -> None:
        with guild_context(self.guild_id):
            async with self.lock:
                if isinstance(event, TrackStarted):
                    if event.tag is self._playing:
                        self.saver.save_now(event.position_ms)
                        if self.current is not None:
                            self.announcer.now_playing()
                elif isinstance(event, TrackPaused):
                    self.saver.save_now(event.position_ms)
                elif isinstance(event, TrackEnded):
                    await self._track_ended(event)
            if isinstance(event, TrackStarted) and event.tag is self._playing:
                await self._preload()

    async def _track_ended(self, event: TrackEnded) -> None:
        if event.tag is not self._playing or not event.reason.may_advance:
            return
        entry = self.current
        if event.reason is EndReason.FAILED and entry is not None:
            log.warning("track %r failed at %d ms: %s", entry.track.title, event.position_ms, event.message)
            self.announcer.track_failed(entry.track, event.message or "This track could not be played.")
        if entry is not None and not (self.queue.loop is LoopMode.ONE and event.reason is EndReason.FINISHED):
            self.saver.played(entry.track)
        following = self.queue.advance(event.reason)
        self.skip_votes.clear()
        preloaded = self._preloaded
        if following is None:
            self._went_idle(entry.track if entry is not None else None)
        elif preloaded is not None and preloaded.entry_id == following.id and self.player.tag is preloaded:
            self._playing, self._preloaded = preloaded, None  # the player switched on its own (gapless)
            self.saver.save_now(0)
        else:
            await self._start_current()

    def _spawn(self, coro: object) -> None:
        task: asyncio.Task[None] = self._loop.create_task(coro)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("session task failed", exc_info=task.exception())
