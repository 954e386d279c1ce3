"""One audio sender thread for every guild, instead of discord.py's thread per player.

discord.py's `VoiceClient.play` starts an `AudioPlayer` thread per guild that wakes every 20 ms.
With 100 guilds that is 100 threads fighting for the GIL 5,000 times a second; measured on the
2-vCPU machine, the bot then spent more CPU on thread switches than on sending (BENCHMARKS.md).
Here one clock thread steps every playing guild once per 20 ms tick.

The packets still go through discord.py's own path, `VoiceClient.send_audio_packet(frame,
encode=False)`, which applies DAVE end-to-end and transport encryption (DESIGN.md: the bot never
writes to the voice socket itself). `SharedAudioPlayer` keeps discord.py's `AudioPlayer` state
(pause, resume, stop, `after`, the speaking flag), so `VoiceClient.pause()/resume()/stop()/
is_playing()` work unchanged; only the thread is shared.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

import discord
from discord.enums import SpeakingState
from discord.player import AudioPlayer
from discord.voice_state import VoiceConnectionState

from zilean.bot.voice_handshake import ReliableVoiceConnectionState

log = logging.getLogger(__name__)

FRAME_S = 0.02
# Behind by more than this (the machine stalled): skip ahead instead of bursting the backlog out.
MAX_LAG_S = 0.2
# How long a thread that wants the GIL waits before forcing the holder to hand it over (CPython's
# default is 5 ms). The sender gives the GIL up twice per packet (encryption, UDP send); beside a
# busy pure-Python thread each of those could cost it 5 ms, so 30 guilds' packets no longer fit in a
# 20 ms tick. Measured at 30 streams beside such a thread: 81 % of frames missing at 5 ms, none at
# 0.5 ms or 0.2 ms, gap p99 34-35 ms at 0.5 ms and 27 ms at 0.2 ms. Uncontended, it costs nothing.
GIL_SWITCH_INTERVAL_S = 0.0002
PAUSE_SILENCE_FRAMES = 5  # what discord.py sends when a player pauses, so decoders fade out cleanly
# A real-time thread that is behind still leaves the CPU to others this long after each tick.
BEHIND_REST_S = 0.001
# The most of one CPU the sender may use at real-time priority, measured over BUDGET_WINDOW_S; above
# it, it steps down to normal priority for REALTIME_RETRY_S (as RTKit does for desktop audio). Issue
# #12: where the streams need more CPU than the machine has, a SCHED_FIFO sender that is always a
# little behind rests only 1 ms a tick and so holds a whole vCPU; ffmpeg, the event loop and
# everything else then share the other one, and starting 100 guilds took 2-3x as long (162-206 s
# against 77 s at normal priority; 75 guilds pinned to one vCPU here: 757 s against 50 s). At 100
# streams on 2 vCPUs that keep up, the sender uses about a tenth of a CPU.
REALTIME_CPU_BUDGET = 0.5
BUDGET_WINDOW_S = 1.0
REALTIME_RETRY_S = 30.0
# Upper bounds of the tick-time histogram (seconds spent stepping every player in one tick).
TICK_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1)


class SenderStats:
    """The sender's own counts, plain ints written only by its thread (read at scrape time).

    Per-frame work must stay cheap at 100 streams × 50 frames a second, so nothing here takes a
    lock or calls a metrics library; zilean.bot.metrics turns these into Prometheus metrics.
    """

    __slots__ = ("frames_missed", "frames_sent", "tick_buckets", "tick_count", "tick_sum_s")

    def __init__(self) -> None:
        self.frames_sent = 0  # handed to send_audio_packet
        self.frames_missed = 0  # due and never sent: ticks skipped when behind, voice reconnecting
        self.tick_buckets = [0] * (len(TICK_BUCKETS_S) + 1)  # per bucket (not cumulative); last: +Inf
        self.tick_count = 0
        self.tick_sum_s = 0.0

    def tick(self, seconds: float) -> None:
        """Record one tick's stepping time."""
        self.tick_buckets[bisect_left(TICK_BUCKETS_S, seconds)] += 1
        self.tick_count += 1
        self.tick_sum_s += seconds


class SharedClock:
    """A daemon thread that steps every registered player once per 20 ms tick; idle when none is."""

    def __init__(self, realtime_priority: int = 0, *, realtime_retry_s: float = REALTIME_RETRY_S) -> None:
        self._players: tuple[SharedAudioPlayer, ...] = ()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self.realtime_priority = realtime_priority  # 0: never ask; read when the thread starts
        self.realtime = False  # whether the thread has real-time scheduling now
        self.step_downs = 0  # how often it went back to normal priority for using too much CPU
        self._realtime_retry_s = realtime_retry_s
        self._retry_at: float | None = None  # when to ask for real-time priority again
        self._window_start = 0.0
        self._window_cpu = 0.0
        self.stats = SenderStats()

    def add(self, player: SharedAudioPlayer) -> None:
        """Step `player` from the next tick on."""
        with self._wake:
            self._players = (*self._players, player)
            if self._thread is None:
                sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))
                self._thread = threading.Thread(target=self._run, name="zilean-audio-sender", daemon=True)
                self._thread.start()
            self._wake.notify()

    @property
    def player_count(self) -> int:
        """How many players the clock is stepping."""
        return len(self._players)

    @property
    def native_id(self) -> int | None:
        """The sender thread's kernel thread id (for its scheduling policy), None before it starts."""
        thread = self._thread
        return None if thread is None else thread.native_id

    def _ask_for_realtime(self) -> None:
        """Switch this thread to real-time scheduling (SCHED_FIFO), as audio servers do, if allowed.

        At normal priority, whenever ffmpeg, the event loop or another process had the CPU, packets
        of a tick went out late (BENCHMARKS.md: 100 streams, normal priority vs real-time). Linux
        allows it for root, with CAP_SYS_NICE, or with RLIMIT_RTPRIO (systemd: LimitRTPRIO=).
        Only this thread is raised: Linux schedules threads one by one, and RESET_ON_FORK keeps
        what it starts (a pool thread, through it ffmpeg) at normal priority.
        """
        if self.realtime_priority <= 0 or not hasattr(os, "SCHED_RESET_ON_FORK"):
            return  # never without reset-on-fork (Linux only): ffmpeg would inherit the priority
        policy = os.SCHED_FIFO | os.SCHED_RESET_ON_FORK
        try:
            os.sched_setscheduler(0, policy, os.sched_param(self.realtime_priority))
        except OSError as exc:
            log.info(
                "audio sender runs at normal priority (real-time scheduling refused: %s); see the "
                "README's 'Audio priority' for steadier audio on a busy machine",
                exc.strerror,
            )
            return
        self.realtime = True
        log.info("audio sender runs with real-time priority %d", self.realtime_priority)

    def _watch_budget(self, now: float) -> None:
        """Once a window: step down from real-time priority if the sender used more CPU than its budget,
        and ask for it again once the retry time has come."""
        elapsed = now - self._window_start
        if elapsed < BUDGET_WINDOW_S:
            return
        cpu = time.thread_time()
        share = (cpu - self._window_cpu) / elapsed
        self._window_start, self._window_cpu = now, cpu
        if self.realtime and share > REALTIME_CPU_BUDGET:
            os.sched_setscheduler(0, os.SCHED_OTHER | os.SCHED_RESET_ON_FORK, os.sched_param(0))
            self.realtime = False
            self.step_downs += 1
            self._retry_at = now + self._realtime_retry_s
            log.warning(
                "audio sender used %.0f %% of a CPU at real-time priority: the streams need more CPU "
                "than this machine has; it runs at normal priority for %.0f s so that ffmpeg and the "
                "bot are not starved (fewer streams per CPU, or more shards, would fix it)",
                share * 100,
                self._realtime_retry_s,
            )
        elif self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self._ask_for_realtime()

    def _run(self) -> None:
        self._ask_for_realtime()
        start, ticks = time.perf_counter(), 0
        self._window_start, self._window_cpu = start, time.thread_time()
        while True:
            players = self._players
            if not players:
                with self._wake:
                    while not self._players:
                        self._wake.wait()
                start, ticks = time.perf_counter(), 0
                continue
            stepped_at = time.perf_counter()
            finished = [player for player in players if not player.step()]
            if finished:
                with self._wake:
                    self._players = tuple(p for p in self._players if p not in finished)
                for player in finished:
                    player.finish()
            ticks += 1
            now = time.perf_counter()
            self.stats.tick(now - stepped_at)
            self._watch_budget(now)
            delay = start + FRAME_S * ticks - now
            if delay > 0:
                time.sleep(delay)
                continue
            if self.realtime:  # behind: a real-time thread must still let the others run
                time.sleep(BEHIND_REST_S)
            if delay < -MAX_LAG_S:
                log.warning("audio sender fell %.0f ms behind; skipping ahead", -delay * 1000)
                self.stats.frames_missed += int(-delay / FRAME_S) * len(self._players)
                start, ticks = time.perf_counter(), 0


CLOCK = SharedClock()


class SharedAudioPlayer(AudioPlayer):
    """discord.py's AudioPlayer state machine, stepped by the shared clock instead of its own thread."""

    def __init__(
        self,
        source: discord.AudioSource,
        client: discord.VoiceClient,
        *,
        after: Callable[[Exception | None], Any] | None = None,
        clock: SharedClock = CLOCK,
    ) -> None:
        super().__init__(source, client, after=after)
        self._clock = clock
        self._silence_sent = False
        self._offline_since: float | None = None

    def start(self) -> None:
        """Announce speaking and join the shared clock (instead of starting a thread)."""
        self._speak(SpeakingState.voice)
        self._clock.add(self)

    def step(self) -> bool:
        """Send this player's next frame (called by the clock every 20 ms); False once it has finished."""
        if self._end.is_set():
            return False
        try:
            if not self._resumed.is_set():
                if not self._silence_sent:  # paused: a few silence frames once, then nothing
                    self.send_silence(PAUSE_SILENCE_FRAMES)
                    self._silence_sent = True
                return True
            self._silence_sent = False
            if not self._connected():
                self._clock.stats.frames_missed += 1
                return not self._end.is_set()
            data = self.source.read()
            if not data:
                self._current_error = getattr(self.source, "_current_error", None)
                self.stop()
                return False
            self.client.send_audio_packet(data, encode=not self.source.is_opus())
            self._clock.stats.frames_sent += 1
        except Exception as exc:  # one guild's failure must never stop the others' audio
            self._current_error = exc
            self.stop()
            return False
        return True

    def _connected(self) -> bool:
        """Like discord.py's thread: while voice reconnects, read nothing (the song waits); give up
        after the client's timeout."""
        if self.client.is_connected():
            if self._offline_since is not None:
                self._offline_since = None
                self._speak(SpeakingState.voice)
            return True
        now = time.monotonic()
        if self._offline_since is None:
            self._offline_since = now
        elif now - self._offline_since > self.client.timeout:
            log.warning("voice did not reconnect within %s s; stopping playback", self.client.timeout)
            self.stop()
        return False

    def finish(self) -> None:
        """What discord.py's thread does on the way out: trailing silence, `after`, cleanup."""
        try:
            if self.client.is_connected():
                self.send_silence()
        finally:
            self._call_after()
            self.source.cleanup()

    def is_alive(self) -> bool:
        """Stepped by the clock until it ends (threading.Thread's question, answered for the clock)."""
        return not self._end.is_set()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the clock has dropped this player (or `timeout` passed)."""
        self._end.wait(timeout)


class SharedSenderVoiceClient(discord.VoiceClient):
    """A VoiceClient whose Opus sources are sent by the shared clock; PCM sources keep discord.py's thread.

    Its handshake waits cannot miss a state change (voice_handshake.py).
    """

    def create_connection_state(self) -> VoiceConnectionState:
        return ReliableVoiceConnectionState(self)

    def play(
        self,
        source: discord.AudioSource,
        *,
        after: Callable[[Exception | None], Any] | None = None,
        **encoder_options: Any,
    ) -> None:
        """Start sending `source` (same errors as `discord.VoiceClient.play`)."""
        if not source.is_opus():
            super().play(source, after=after, **encoder_options)
            return
        if not self.is_connected():
            raise discord.ClientException("Not connected to voice.")
        if self.is_playing():
            raise discord.ClientException("Already playing audio.")
        player = SharedAudioPlayer(source, self, after=after)
        self._player = player
        player.start()
