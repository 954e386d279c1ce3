"""The player: plays ONE track at a time as 20 ms Opus frames and says how each track ended.

State machine: IDLE → (play) → LOADING → (first packet) → PLAYING ⇄ PAUSED → (end) → IDLE.
The queue is not the player's business: every end emits `TrackEnded` with an `EndReason`, and
`reason.may_advance` tells the owner whether to call `queue.advance(reason)`.

Threading contract
------------------
- `read_frame()` is called by the sink's thread (the bot's shared audio sender, which calls
  `AudioSource.read()` every 20 ms). It never blocks on I/O: it takes packets ffmpeg has
  already written (`OpusStream` reads its pipe without waiting), and hands out `OPUS_SILENCE`
  when none is ready (an underrun) rather than ending. It returns None only when there is nothing to play:
  after `stop()`, or when a track ended and nothing was started within `linger_ms` (the
  silence in between keeps the sink's player alive so the next track needs no new one).
- Every other public method (play, preload, pause, resume, seek, set_volume, set_effects, set_eq, stop,
  close) is meant for ONE controlling thread, the asyncio event loop. They only take a short
  lock: ffmpeg is started on a private starter thread (fork/exec and thread start-up took up to
  ~200 ms on the loaded 2-core machine) and stopped on a private closer thread (close() waits
  for the process), so neither the loop nor the sink thread ever waits for ffmpeg.
- Events are delivered on the event loop via `loop.call_soon_threadsafe(on_event, event)`, in
  the order they happened, whichever thread caused them.
- Pausing: the bot calls `voice_client.pause()` as well, so discord.py stops calling
  `read_frame()`. If the sink keeps calling anyway, a paused player hands out silence and its
  position stands still.

Position is counted, not clocked: each Opus packet handed out advances it by 20 ms × the tempo
factor of the effects (nightcore plays 25 ms of the source per 20 ms frame).

Seamless changes: volume, effects and seek start a NEW ffmpeg (at the current position, or at
the seek target) while the old one keeps feeding frames; the new one takes over on its first
packet. For volume and effects the new stream's packets that lie before the current position
are dropped, so the music continues exactly where it was. `preload()` starts the next track's
ffmpeg `preload_lead_ms` before the current one ends, and the switch happens inside
`read_frame()` with no event-loop round trip (gapless).

The owner's loop (the bot's guild session), on each event:
    TrackEnded(reason) with reason.may_advance → entry = queue.advance(reason);
        if entry is None: done; elif player.tag is not entry: player.play(spec_of(entry), entry)
        (when it IS the entry, the preload already took over); then preload the entry after it.
    A failed track's `message` is safe to show users.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from zilean.core.effects import tempo_factor
from zilean.core.equalizer import Equalizer
from zilean.core.errors import ZileanError
from zilean.core.events import (
    EndReason,
    PlayerEvent,
    PlayerState,
    TrackEnded,
    TrackPaused,
    TrackResumed,
    TrackStarted,
)
from zilean.core.pipeline import FRAME_MS, PlaybackSpec, gain_for
from zilean.core.player_feed import Feed, FrameStream

log = logging.getLogger(__name__)

OPUS_SILENCE = b"\xf8\xff\xfe"  # one 20 ms Opus frame of silence (what discord.py sends)
DEFAULT_LINGER_MS = 5_000
DEFAULT_PRELOAD_LEAD_MS = 10_000
# A stream that gave no packet for this long (at its start, or mid-track) has stalled: the track
# fails with a message instead of playing silence for ever. ffmpeg gives up on a stalled network
# read after 15 s itself (pipeline.NETWORK_TIMEOUT_US) and a local file starts within milliseconds,
# so only a stuck ffmpeg (a source that never answers, a process stopped or starved) gets here.
DEFAULT_STALL_MS = 30_000
# How often a stream that broke off mid-track (ffmpeg killed or crashed) is restarted at the current
# position before the track fails.
STREAM_RETRIES = 1
FAILED_MESSAGE = "This track could not be played."
STALLED_MESSAGE = "This track's audio stopped coming (its source or ffmpeg stalled), so I skipped it."


StreamFactory = Callable[[PlaybackSpec], FrameStream]
EventCallback = Callable[[PlayerEvent], None]


class Player:
    """Plays one track at a time from `stream_factory(spec)` streams; see the module docstring."""

    def __init__(
        self,
        stream_factory: StreamFactory,
        on_event: EventCallback,
        loop: asyncio.AbstractEventLoop,
        *,
        linger_ms: int = DEFAULT_LINGER_MS,
        preload_lead_ms: int = DEFAULT_PRELOAD_LEAD_MS,
        stall_ms: int = DEFAULT_STALL_MS,
    ) -> None:
        self._factory = stream_factory
        self._on_event = on_event
        self._loop = loop
        self._linger_frames = linger_ms // FRAME_MS
        self._stall_frames = max(1, stall_ms // FRAME_MS)
        self._preload_lead_ms = preload_lead_ms
        self._lock = threading.Lock()
        # Starting ffmpeg (fork/exec + thread start-up) and stopping it (waiting for the exit) both
        # take from a few ms to a few hundred ms on a loaded machine: neither runs on the caller's
        # thread. Separate threads, so a start never queues behind a slow close.
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zilean-player-start")
        self._closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zilean-player-close")
        self._state = PlayerState.IDLE
        self._resume_state = PlayerState.PLAYING  # what resume() returns to (a pause may come while loading)
        self._feed: Feed | None = None  # what read_frame() plays
        self._pending: Feed | None = None  # a restart of the same track, taking over on its first packet
        self._next: Feed | None = None  # the track preload() asked for
        self._linger_left = 0
        self._serial = 0
        self._closed = False

    # --- reading (sink thread) -------------------------------------------------------------

    def read_frame(self) -> bytes | None:
        """The next 20 ms Opus frame; silence on underrun or pause; None when there is nothing to play."""
        with self._lock:
            if self._feed is None:
                return self._linger_frame()
            if self._state is PlayerState.PAUSED:
                return OPUS_SILENCE
            self._start_preload_when_due()
            packet = self._take_over_pending() or self._feed.pull()
            while packet is None:  # the stream ended: a restart or the preload carries on, or we idle
                if not self._feed_ended():
                    return self._linger_frame()
                assert self._feed is not None
                packet = self._feed.pull()
            if not packet:
                return self._underrun_locked()
            self._feed.starved = 0
            if self._state is PlayerState.LOADING:
                self._state = PlayerState.PLAYING
                self._emit(TrackStarted(self._feed.tag, round(self._feed.position_ms - self._feed.step_ms)))
            return packet

    def _underrun_locked(self) -> bytes | None:
        """No packet ready: silence, unless the stream has given nothing for the stall time."""
        feed = self._feed
        assert feed is not None
        feed.starved += 1
        if feed.starved < self._stall_frames:
            return OPUS_SILENCE
        log.warning(
            "no audio from ffmpeg for %d ms (%s); the track fails",
            feed.starved * FRAME_MS,
            "never started" if self._state is PlayerState.LOADING else "stalled mid-track",
        )
        self._end_locked(EndReason.FAILED, STALLED_MESSAGE)
        self._linger_left = self._linger_frames
        return self._linger_frame()

    def _linger_frame(self) -> bytes | None:
        """Silence while waiting for the owner to start the next track after an end, then None."""
        if self._linger_left > 0:
            self._linger_left -= 1
            return OPUS_SILENCE
        return None

    # --- control (event loop) --------------------------------------------------------------

    def play(self, spec: PlaybackSpec, tag: object = None, *, duration_ms: int | None = None) -> None:
        """Start playing `spec` (ffmpeg starts in the background); a playing track ends with REPLACED."""
        self._check_open()
        try:
            feed = Feed(spec, tag, duration_ms=duration_ms)
        except ZileanError as exc:  # an effect stack that is no longer valid
            feed_error: str | None = exc.message
        else:
            feed_error = None
        with self._lock:
            if self._feed is not None:
                self._end_locked(EndReason.REPLACED)
            self._drop_preload_locked()
            if feed_error is not None:
                self._emit(TrackEnded(tag, EndReason.FAILED, spec.start_ms, feed_error))
                self._linger_left = self._linger_frames
                return
            self._install_locked(feed)
            self._launch_locked(feed)

    def preload(self, spec: PlaybackSpec, tag: object = None, *, duration_ms: int | None = None) -> None:
        """Name the track that follows; its ffmpeg starts `preload_lead_ms` before the current one ends."""
        self._check_open()
        request = Feed(spec, tag, duration_ms=duration_ms)
        with self._lock:
            self._drop_preload_locked()
            self._next = request
            if self._preload_due_locked():
                self._launch_locked(request)

    def cancel_preload(self) -> None:
        """Forget the preloaded track (the queue changed)."""
        with self._lock:
            self._drop_preload_locked()

    def pause(self) -> None:
        """Hold playback at the current position."""
        with self._lock:
            if self._state in (PlayerState.PLAYING, PlayerState.LOADING) and self._feed is not None:
                self._resume_state, self._state = self._state, PlayerState.PAUSED
                self._emit(TrackPaused(self._feed.tag, round(self._feed.position_ms)))

    def resume(self) -> None:
        """Continue from where pause() stopped."""
        with self._lock:
            if self._state is PlayerState.PAUSED and self._feed is not None:
                self._state = self._resume_state
                self._emit(TrackResumed(self._feed.tag, round(self._feed.position_ms)))

    def seek(self, position_ms: int) -> None:
        """Continue the current track from `position_ms` (the old stream plays until the new one is ready)."""
        self._restart(lambda spec: replace(spec, start_ms=max(0, int(position_ms))), jump=True)

    def set_volume(self, volume_percent: int) -> None:
        """Change the volume (0–200 %) from the current position on."""
        gain_for(volume_percent)  # validates, with the user-facing message
        self._restart(lambda spec: replace(spec, volume_percent=volume_percent), jump=False)
        self._update_preload(lambda spec: replace(spec, volume_percent=volume_percent))

    def set_effects(self, effects: tuple[str, ...]) -> None:
        """Change the effect stack from the current position on."""
        tempo_factor(effects)  # validates names and speed bounds, with the user-facing message
        self._restart(lambda spec: replace(spec, effects=tuple(effects)), jump=False)
        self._update_preload(lambda spec: replace(spec, effects=tuple(effects)))

    def set_eq(self, eq: Equalizer) -> None:
        """Change the equalizer from the current position on."""
        self._restart(lambda spec: replace(spec, eq=eq), jump=False)
        self._update_preload(lambda spec: replace(spec, eq=eq))

    def stop(self) -> None:
        """End the current track with STOPPED; read_frame() returns None from now on."""
        with self._lock:
            if self._feed is not None:
                self._end_locked(EndReason.STOPPED)
            self._drop_preload_locked()
            self._linger_left = 0

    def close(self) -> None:
        """Stop and release every ffmpeg process; the player cannot be used afterwards."""
        if self._closed:
            return
        self.stop()
        self._closed = True
        self._starter.shutdown(wait=True)  # a start in flight finds its feed discarded and closes it
        self._closer.shutdown(wait=True)

    # --- state -----------------------------------------------------------------------------

    # Read under the lock: the sink thread may be between ending one track and starting the preload.

    @property
    def state(self) -> PlayerState:
        """Where the state machine is."""
        with self._lock:
            return self._state

    @property
    def position_ms(self) -> int:
        """How far into the current track the frames handed out so far reach (0 when idle)."""
        with self._lock:
            return 0 if self._feed is None else round(self._feed.position_ms)

    @property
    def tag(self) -> object:
        """The tag of the track now loaded (given to play() or preload()), None when idle."""
        with self._lock:
            return None if self._feed is None else self._feed.tag

    @property
    def spec(self) -> PlaybackSpec | None:
        """The spec now playing, with the latest volume and effects even before the switch."""
        with self._lock:
            feed = self._pending or self._feed
            return None if feed is None else feed.spec

    @property
    def stream_serial(self) -> int:
        """Incremented each time read_frame() starts taking packets from a different ffmpeg."""
        return self._serial

    # --- internals -------------------------------------------------------------------------

    def _launch_locked(self, feed: Feed) -> None:
        feed.launched = True
        self._starter.submit(self._start_feed, feed)

    def _start_feed(self, feed: Feed) -> None:
        """On the starter thread: create and start the feed's stream, unless it was discarded meanwhile."""
        if feed.discarded:
            return
        stream: FrameStream | None = None
        try:
            stream = self._factory(feed.spec)
            stream.start()
        except Exception as exc:  # anything: a start that fails unseen leaves the track silent for ever
            log.warning("could not start playback: %r", exc, exc_info=not isinstance(exc, ZileanError))
            if stream is not None:
                self._close_later(stream)
            with self._lock:
                feed.start_error = exc.message if isinstance(exc, ZileanError) else FAILED_MESSAGE
                if self._feed is feed:  # report it now: the sink may not be reading yet
                    self._end_locked(EndReason.FAILED, feed.start_error)
                    self._linger_left = self._linger_frames
            return
        with self._lock:
            if not feed.discarded:
                feed.stream = stream
                return
        self._close_later(stream)

    def _discard_locked(self, feed: Feed) -> None:
        feed.discarded = True
        if feed.stream is not None:
            self._close_later(feed.stream)

    def _install_locked(self, feed: Feed) -> None:
        self._feed = feed
        self._state = PlayerState.LOADING
        self._linger_left = 0
        self._serial += 1

    def _restart(self, change: Callable[[PlaybackSpec], PlaybackSpec], *, jump: bool) -> None:
        """Start a new stream of the current track from `change(spec)`; read_frame() switches to it."""
        self._check_open()
        with self._lock:
            feed, pending = self._feed, self._pending
            if feed is None:
                return
            base = pending or feed
            # A seek still on its way keeps its target when the volume changes meanwhile.
            jump = jump or (pending is not None and not pending.align)
            start_ms = base.spec.start_ms if jump else round(feed.position_ms)
            new = Feed(change(replace(base.spec, start_ms=start_ms)), feed.tag, align=not jump)
            new.duration_ms = feed.duration_ms
            if pending is not None:
                self._discard_locked(pending)
            self._pending = new
            self._launch_locked(new)

    def _take_over_pending(self) -> bytes:
        """Switch to the pending restart once it has a packet for the current position."""
        pending, feed = self._pending, self._feed
        if pending is None or feed is None:
            return b""
        packet = pending.pull(feed.position_ms if pending.align else None)
        if packet is None:
            log.warning("a restart of the track failed: %s", pending.error)
            self._discard_locked(pending)
            self._pending = None
            return b""
        if packet:
            self._discard_locked(feed)
            self._feed, self._pending = pending, None
            self._serial += 1
        return packet

    def _feed_ended(self) -> bool:
        """The current stream has no more packets; True if another stream took its place."""
        feed, pending = self._feed, self._pending
        assert feed is not None
        error = feed.error
        if pending is not None and (error or not pending.align):
            # A seek is on its way (or the old stream broke): the new stream carries on.
            if pending.align:
                pending.catch_up_ms = feed.position_ms
            self._discard_locked(feed)
            self._feed, self._pending = pending, None
            self._serial += 1
            return True
        if error and self._restart_broken_locked(feed, error):
            return True
        self._end_locked(EndReason.FAILED if error else EndReason.FINISHED, error)
        following, self._next = self._next, None
        if following is None or following.stream is None:
            if following is not None:
                log.info("the preloaded track was not ready in time; the owner starts it")
                self._discard_locked(following)
            self._linger_left = self._linger_frames
            return False
        self._install_locked(following)
        return True

    def _restart_broken_locked(self, feed: Feed, error: str) -> bool:
        """A stream that broke off mid-track gets a new ffmpeg at the current position (a few times)."""
        if feed.retries >= STREAM_RETRIES or feed.position_ms <= feed.spec.start_ms:
            return False  # it never played (a bad file fails the same way again), or it keeps breaking
        log.warning("the audio stream broke off at %d ms (%s); restarting it there", feed.position_ms, error)
        spec = replace(feed.spec, start_ms=round(feed.position_ms))
        again = Feed(spec, feed.tag, duration_ms=feed.duration_ms)
        again.retries = feed.retries + 1
        self._discard_locked(feed)
        self._feed = again
        self._serial += 1
        self._launch_locked(again)
        return True

    def _end_locked(self, reason: EndReason, message: str | None = None) -> None:
        feed = self._feed
        assert feed is not None
        for ending in (feed, self._pending):
            if ending is not None:
                self._discard_locked(ending)
        self._feed, self._pending = None, None
        self._state = PlayerState.IDLE
        shown = (message or FAILED_MESSAGE) if reason is EndReason.FAILED else None
        self._emit(TrackEnded(feed.tag, reason, round(feed.position_ms), shown))

    def _preload_due_locked(self) -> bool:
        feed = self._feed
        if feed is None or feed.duration_ms is None:
            return True
        return feed.position_ms >= feed.duration_ms - self._preload_lead_ms

    def _start_preload_when_due(self) -> None:
        """Called by read_frame() under the lock: start the preload's ffmpeg once it is due."""
        request = self._next
        if request is not None and not request.launched and self._preload_due_locked():
            self._launch_locked(request)

    def _drop_preload_locked(self) -> None:
        if self._next is not None:
            self._discard_locked(self._next)
        self._next = None

    def _update_preload(self, change: Callable[[PlaybackSpec], PlaybackSpec]) -> None:
        """Keep a preloaded track in step with volume and effect changes."""
        with self._lock:
            request = self._next
        if request is not None:
            self.preload(change(request.spec), request.tag, duration_ms=request.duration_ms)

    def _close_later(self, stream: FrameStream) -> None:
        """Close a stream on the closer thread: close() waits for ffmpeg to exit."""
        try:
            self._closer.submit(stream.close)
        except RuntimeError:  # the closer is shut down (the player is closing): close here
            stream.close()

    def _emit(self, event: PlayerEvent) -> None:
        try:
            self._loop.call_soon_threadsafe(self._on_event, event)
        except RuntimeError:
            log.debug("event loop closed; dropped %s", event)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this player was closed")
