"""The player's plumbing: a started stream with its position, and a preload request."""

from __future__ import annotations

from typing import Protocol

from zilean.core.effects import tempo_factor
from zilean.core.pipeline import FRAME_MS, PlaybackSpec

# A new stream may drop at most this many packets per read_frame() while catching up (≈ 2 s of audio).
MAX_CATCH_UP_PACKETS = 100


class FrameStream(Protocol):
    """What the player needs from `zilean.core.pipeline.OpusStream`."""

    def start(self) -> None: ...
    def read(self) -> bytes | None: ...
    def close(self) -> None: ...
    @property
    def error(self) -> str | None: ...


class Feed:
    """One started stream and the source position (ms) of the next packet it will give."""

    def __init__(self, stream: FrameStream, spec: PlaybackSpec, tag: object, *, align: bool = False) -> None:
        self.stream = stream
        self.spec = spec
        self.tag = tag
        self.align = align  # drop packets before the player's position (volume/effects) vs jump (seek)
        self.position_ms = float(spec.start_ms)
        self.step_ms = FRAME_MS * tempo_factor(spec.effects)
        self.catch_up_ms: float | None = None  # drop packets that end before this position

    def pull(self, target_ms: float | None = None) -> bytes | None:
        """The next packet starting at or after `target_ms` (b"" if none is buffered yet, None once ended)."""
        target = self.catch_up_ms if target_ms is None else target_ms
        for _ in range(MAX_CATCH_UP_PACKETS + 1):
            packet = self.stream.read()
            if not packet:
                return packet
            self.position_ms += self.step_ms
            if target is None or self.position_ms > target + self.step_ms / 2:
                self.catch_up_ms = None
                return packet
        return b""


class Preload:
    """A preload() request and, once started, its stream."""

    def __init__(self, spec: PlaybackSpec, tag: object, duration_ms: int | None) -> None:
        self.spec = spec
        self.tag = tag
        self.duration_ms = duration_ms
        self.starting = False
        self.feed: Feed | None = None
