"""Per-guild capture: packet timing always, decoded audio for level/frequency, an Opus ring for WAV."""

from __future__ import annotations

import asyncio
import io
import logging
import time
import wave
from collections import deque
from collections.abc import AsyncGenerator
from typing import Any

import numpy as np

from zilean.core import analysis

from .decode import (
    BYTES_PER_FRAME,
    CHANNELS,
    FRAME_SAMPLES,
    SAMPLE_RATE,
    OpusDecodeError,
    OpusDecoder,
    packet_samples,
)

log = logging.getLogger(__name__)

FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE
RING_SECONDS = 60.0
ANALYSIS_SECONDS = 1.0
GAP_WINDOW = 3000  # gaps kept for the percentiles: a minute at 50 packets/s
PREROLL_PACKETS = 10  # decoded and thrown away when a WAV starts mid-stream, so the decoder settles
OPUS_SILENCE = b"\xf8\xff\xfe"
SUBSCRIBER_QUEUE = 100  # chunks; a slow browser loses audio rather than growing memory


class GuildCapture:
    """Everything the sandbox measures about one guild's incoming voice stream."""

    def __init__(self, guild_id: int, *, decode: bool = True) -> None:
        self.guild_id = guild_id
        self.decode_enabled = decode
        # The stream decoder belongs to the stream, not to the measurements: reset() keeps it, and the
        # decode thread may be using it while the loop resets.
        self._decoder: OpusDecoder | None = None
        self.reset()
        self._subscribers: set[asyncio.Queue[bytes]] = set()

    def reset(self) -> None:
        """Forget every measurement (the connection state is kept by the gateway)."""
        self.packets = 0
        self.header_packets = 0
        self.silence_frames = 0
        self.samples = 0
        self.decode_errors = 0
        self.decrypt_errors = 0
        self._last_arrival: float | None = None
        self._last_was_silence = False
        self._gaps: deque[float] = deque(maxlen=GAP_WINDOW)
        self._speaking_epoch = 0
        self._last_epoch = 0
        self._speaking_since: float | None = None
        self._speaking_seconds = 0.0
        self._speaking_packets = 0
        # First and last arrival and packet count of the current speaking run; missing frames of
        # the runs before it (see `_run_missing`).
        self._run_first: float | None = None
        self._run_last = 0.0
        self._run_packets = 0
        self._missing_before = 0
        self._ring: deque[tuple[float, bytes]] = deque(
            maxlen=int(RING_SECONDS / FRAME_SECONDS) + PREROLL_PACKETS
        )
        self._pending: list[bytes] = []
        self._pcm_window: deque[bytes] = deque(maxlen=int(ANALYSIS_SECONDS / FRAME_SECONDS))
        if self._speaking_flag:
            self._speaking_since = time.monotonic()

    # -- speaking state (from voice gateway op 5) ----------------------------------------------

    _speaking_flag = 0

    @property
    def speaking(self) -> bool:
        """Whether the client last said it is speaking."""
        return bool(self._speaking_flag)

    def set_speaking(self, flags: int, now: float | None = None) -> None:
        """Record an op 5 SPEAKING update."""
        now = time.monotonic() if now is None else now
        was, self._speaking_flag = bool(self._speaking_flag), flags
        if was == bool(flags):
            return
        self._speaking_epoch += 1
        self._missing_before += self._run_missing()
        self._run_first, self._run_packets = None, 0
        if flags:
            self._speaking_since = now
        elif self._speaking_since is not None:
            self._speaking_seconds += now - self._speaking_since
            self._speaking_since = None

    # -- packets (hot path: runs for every datagram) ---------------------------------------------

    def on_packet(self, payload: bytes, now: float) -> None:
        """Account one decrypted Opus payload that arrived at `now` (monotonic seconds)."""
        if self._last_arrival is not None and self._last_epoch == self._speaking_epoch:
            # A gap across a speaking change or after end-of-stream silence is a pause, not jitter.
            if not self._last_was_silence:
                self._gaps.append(now - self._last_arrival)
        self._last_arrival = now
        self._last_epoch = self._speaking_epoch
        if self._speaking_flag:
            self._speaking_packets += 1
            if self._run_first is None:
                self._run_first = now
            self._run_last = now
            self._run_packets += 1
        if payload.startswith((b"OpusHead", b"OpusTags")):
            self.header_packets += 1
            self._last_was_silence = False
            return
        self.packets += 1
        self._last_was_silence = payload == OPUS_SILENCE
        if self._last_was_silence:
            self.silence_frames += 1
        self.samples += packet_samples(payload)
        self._ring.append((now, payload))
        if self.decode_enabled:
            self._pending.append(payload)

    def _run_missing(self) -> int:
        """Frames due between the current run's first and last packet that never came.

        Unlike `frame_deficit` (wall clock against packets) it does not depend on where in the
        20 ms cycle the window starts and ends, which alone makes that ±1 frame per guild; but a
        stream that stops altogether shows only in `frame_deficit`.
        """
        if self._run_first is None:
            return 0
        due = round((self._run_last - self._run_first) / FRAME_SECONDS) + 1
        return max(0, due - self._run_packets)

    # -- decoding (batched, off the event loop) --------------------------------------------------

    def take_pending(self) -> list[bytes]:
        """Hand the payloads received since the last batch to the decoder."""
        batch, self._pending = self._pending, []
        return batch

    def decode_batch(self, batch: list[bytes]) -> tuple[bytes, int]:
        """Decode a batch with this guild's stream decoder (runs in a worker thread)."""
        decoder = self._decoder
        if decoder is None:
            decoder = self._decoder = OpusDecoder()
        chunks: list[bytes] = []
        errors = 0
        for payload in batch:
            try:
                chunks.append(decoder.decode(payload))
            except OpusDecodeError:
                errors += 1
        return b"".join(chunks), errors

    def accept_pcm(self, pcm: bytes, errors: int) -> None:
        """Take a decoded batch back on the event loop: analysis window and live subscribers."""
        self.decode_errors += errors
        if not pcm:
            return
        step = FRAME_SAMPLES * BYTES_PER_FRAME
        for start in range(0, len(pcm), step):
            self._pcm_window.append(pcm[start : start + step])
        for queue in list(self._subscribers):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(pcm)

    async def subscribe(self) -> AsyncGenerator[bytes, None]:
        """Yield live decoded PCM chunks until the consumer stops iterating."""
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._subscribers.discard(queue)

    # -- reports ------------------------------------------------------------------------------

    def stats(self, now: float | None = None) -> dict[str, Any]:
        """Packet timing, frame deficit and the level/frequency of the last ~1 s of decoded audio."""
        now = time.monotonic() if now is None else now
        speaking_seconds = self._speaking_seconds
        if self._speaking_since is not None:
            speaking_seconds += now - self._speaking_since
        gaps = np.array(self._gaps, dtype=np.float64) * 1000.0
        window = analysis.pcm16_to_channels(b"".join(self._pcm_window), CHANNELS)
        left, right = window[:, 0], window[:, 1]
        mix = window.mean(axis=1) if window.size else left
        level = analysis.rms(window.ravel())
        return {
            "speaking": self.speaking,
            "packets": self.packets,
            "header_packets": self.header_packets,
            "silence_frames": self.silence_frames,
            "seconds": round(self.samples / SAMPLE_RATE, 3),
            "gap_p50_ms": round(float(np.percentile(gaps, 50)), 2) if gaps.size else None,
            "gap_p99_ms": round(float(np.percentile(gaps, 99)), 2) if gaps.size else None,
            "gap_max_ms": round(float(gaps.max()), 2) if gaps.size else None,
            "speaking_seconds": round(speaking_seconds, 3),
            "frame_deficit": round(speaking_seconds / FRAME_SECONDS) - self._speaking_packets,
            "frames_missing": self._missing_before + self._run_missing(),
            "rms": level,
            "rms_left": analysis.rms(left),
            "rms_right": analysis.rms(right),
            # None rather than -inf for silence: the control API serves these numbers as strict JSON.
            "rms_dbfs": round(analysis.dbfs(level), 2)
            if (level := analysis.rms(window.ravel())) > 0
            else None,
            "dominant_hz": round(analysis.dominant_frequency(mix), 2) if mix.size else None,
            "silent": bool(mix.size == 0 or analysis.is_silent(mix)),
            "decoding": self.decode_enabled,
            "decode_errors": self.decode_errors,
            "decrypt_errors": self.decrypt_errors,
        }

    def wav(self, seconds: float) -> bytes:
        """The last `seconds` (≤ 60) of received audio as a 48 kHz stereo 16-bit WAV."""
        seconds = max(0.0, min(seconds, RING_SECONDS))
        payloads = [p for _, p in self._ring]
        wanted = round(seconds / FRAME_SECONDS)
        start = max(0, len(payloads) - wanted)
        preroll = payloads[max(0, start - PREROLL_PACKETS) : start]
        decoder = OpusDecoder()
        for payload in preroll:
            try:
                decoder.decode(payload)
            except OpusDecodeError:
                pass
        chunks = []
        for payload in payloads[start:]:
            try:
                chunks.append(decoder.decode(payload))
            except OpusDecodeError:
                continue
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(CHANNELS)
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            out.writeframes(b"".join(chunks))
        return buffer.getvalue()
