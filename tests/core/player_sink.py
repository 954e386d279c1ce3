"""Test and bench helpers for the player: a real-time fake sink and an Opus decoder."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

from zilean.core.player import OPUS_SILENCE, Player

FRAME_SECONDS = 0.02


@dataclass(frozen=True, slots=True)
class SinkFrame:
    """One read_frame() call as the sink saw it."""

    frame: bytes | None
    serial: int
    position_ms: int
    at: float  # time.perf_counter() after the call returned

    @property
    def is_audio(self) -> bool:
        return self.frame is not None and self.frame != OPUS_SILENCE


class FakeSink:
    """Stands in for discord.py's AudioPlayer: calls read_frame() every 20 ms on its own thread.

    Like discord.py it schedules against the start time (start + n × 20 ms), so a slow call is
    followed by a shorter sleep, and it stops at the first None.
    """

    def __init__(self, player: Player, *, stop_on_none: bool = True) -> None:
        self.player = player
        self.stop_on_none = stop_on_none
        self.frames: list[SinkFrame] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fake-sink", daemon=True)
        self._listeners: list[Callable[[SinkFrame], None]] = []

    def start(self) -> FakeSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def audio(self) -> list[SinkFrame]:
        """The frames that carried audio (not silence, not None)."""
        return [frame for frame in list(self.frames) if frame.is_audio]

    def _run(self) -> None:
        start = time.perf_counter()
        count = 0
        while not self._stop.is_set():
            frame = self.player.read_frame()
            self.frames.append(
                SinkFrame(frame, self.player.stream_serial, self.player.position_ms, time.perf_counter())
            )
            if frame is None and self.stop_on_none:
                return
            count += 1
            delay = start + count * FRAME_SECONDS - time.perf_counter()
            if delay > 0:
                time.sleep(delay)


def decode(packets: list[bytes]) -> np.ndarray:
    """Decode consecutive Opus packets (one decoder) into (samples, 2) floats at 48 kHz."""
    codec = av.CodecContext.create("libopus", "r")
    codec.sample_rate = 48_000
    codec.layout = "stereo"
    chunks = []
    for payload in packets:
        for frame in codec.decode(av.Packet(payload)):
            data = frame.to_ndarray()
            chunks.append(data.T if frame.format.is_planar else data.reshape(-1, 2))
    if not chunks:
        return np.zeros((0, 2))
    return np.concatenate(chunks).astype(np.float64)
