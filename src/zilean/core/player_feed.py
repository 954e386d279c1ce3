"""The player's plumbing: one ffmpeg stream of one track, with the source position of its next packet."""

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
    """A track's stream: created at once, its ffmpeg started later on the player's starter thread.

    `stream` stays None until the starter sets it (under the player's lock); until then `pull()`
    reports an underrun, or the end once `start_error` says the start failed.
    """

    def __init__(
        self, spec: PlaybackSpec, tag: object, *, align: bool = False, duration_ms: int | None = None
    ) -> None:
        self.spec = spec
        self.tag = tag
        self.align = align  # drop packets before the player's position (volume/effects) vs jump (seek)
        self.duration_ms = duration_ms
        self.position_ms = float(spec.start_ms)
        self.step_ms = FRAME_MS * tempo_factor(spec.effects)
        self.catch_up_ms: float | None = None  # drop packets that end before this position
        self.stream: FrameStream | None = None
        self.start_error: str | None = None
        self.launched = False  # handed to the starter thread
        self.discarded = False  # no longer wanted: a stream started late is closed at once
        self.starved = 0  # read_frame() calls in a row that found no packet
        self.retries = 0  # how often this track's stream was restarted after breaking off

    @property
    def error(self) -> str | None:
        """Why this feed cannot (or can no longer) give packets, if it failed."""
        return self.start_error if self.stream is None else self.stream.error

    def pull(self, target_ms: float | None = None) -> bytes | None:
        """The next packet starting at or after `target_ms` (b"" if none is buffered yet, None once ended)."""
        if self.stream is None:
            return None if self.start_error is not None else b""
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
