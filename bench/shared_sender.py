"""PROTOTYPE (benchmark only): one sender thread for every guild instead of discord.py's thread per player.

`install()` swaps discord.py's `AudioPlayer` (which `VoiceClient.play` creates: one thread per
player, each waking every 20 ms) for `SharedAudioPlayer`: the same object and state (pause,
resume, stop, `after`, speaking), but `start()` registers it with one process-wide clock thread
that, every 20 ms, reads one frame from each registered source and hands it to that guild's
`VoiceClient.send_audio_packet(frame, encode=False)` — so DAVE and the transport encryption stay
discord.py's. Used by bench/bot_streams.py's "zilean-shared" kind through a wrapper; the bot itself
still uses discord.py's players.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import discord.voice_client
from discord.enums import SpeakingState
from discord.player import AudioPlayer

FRAME_S = 0.02
MAX_LAG_S = 0.2  # further behind than this (the machine stalled): restart the schedule, do not burst


class SharedClock:
    """One daemon thread that steps every registered player once per 20 ms tick."""

    def __init__(self) -> None:
        self._players: list[SharedAudioPlayer] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, player: SharedAudioPlayer) -> None:
        """Start sending for `player` from the next tick."""
        with self._lock:
            self._players.append(player)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="shared-audio-sender", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        start, ticks = time.perf_counter(), 0
        while True:
            with self._lock:
                players = list(self._players)
            finished = [player for player in players if not player.step()]
            if finished:
                with self._lock:
                    self._players = [p for p in self._players if p not in finished]
                for player in finished:
                    player.finish()
            ticks += 1
            delay = start + FRAME_S * ticks - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif delay < -MAX_LAG_S:
                start, ticks = time.perf_counter(), 0


CLOCK = SharedClock()


class SharedAudioPlayer(AudioPlayer):
    """discord.py's AudioPlayer state machine, stepped by the shared clock instead of its own thread."""

    def start(self) -> None:
        self._speaking = False
        self._silent = False
        CLOCK.add(self)

    def step(self) -> bool:
        """Send this player's next frame; False once it has finished."""
        if self._end.is_set():
            return False
        if not self._resumed.is_set():  # paused: five silence frames once, then nothing
            if not self._silent:
                self.send_silence()
                self._silent = True
            self._speaking = False
            return True
        self._silent = False
        try:
            data = self.source.read()
            if not data:
                self._current_error = getattr(self.source, "_current_error", None)
                self.stop()
                return False
            client = self.client
            if not client.is_connected():  # the frame is dropped while voice reconnects
                self._speaking = False
                return True
            if not self._speaking:
                self._speak(SpeakingState.voice)
                self._speaking = True
            client.send_audio_packet(data, encode=not self.source.is_opus())
        except Exception as exc:
            self._current_error = exc
            self.stop()
            return False
        return True

    def finish(self) -> None:
        """What discord.py's thread does on the way out: silence, `after`, cleanup."""
        try:
            if self.client.is_connected():
                self.send_silence()
        finally:
            self._call_after()
            self.source.cleanup()

    def is_alive(self) -> bool:
        return not self._end.is_set()

    def join(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._end.is_set() and (deadline is None or time.monotonic() < deadline):
            time.sleep(FRAME_S)


def install() -> None:
    """Make every `VoiceClient.play` in this process use the shared clock."""
    module: Any = discord.voice_client
    module.AudioPlayer = SharedAudioPlayer
