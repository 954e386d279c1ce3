"""Opus → 48 kHz stereo s16le PCM inside the process, through PyAV's bundled libopus."""

from __future__ import annotations

import logging

import av
import av.error
import numpy as np

log = logging.getLogger(__name__)

SAMPLE_RATE = 48_000
CHANNELS = 2
BYTES_PER_FRAME = 2 * CHANNELS
FRAME_SAMPLES = 960  # 20 ms, what discord.py sends
# FFmpegOpusAudio forwards the Ogg header packets as the first two voice payloads.
OGG_HEADER_PREFIXES = (b"OpusHead", b"OpusTags")
# Opus frame sizes (in 48 kHz samples) by TOC configuration number (RFC 6716 §3.1).
_CONFIG_SAMPLES = [480, 960, 1920, 2880] * 3 + [480, 960] * 2 + [120, 240, 480, 960] * 4


class OpusDecodeError(ValueError):
    """A payload the Opus decoder rejected."""


def is_ogg_header(payload: bytes) -> bool:
    """True for an OpusHead/OpusTags packet that must not reach the decoder."""
    return payload.startswith(OGG_HEADER_PREFIXES)


def packet_samples(payload: bytes) -> int:
    """Samples per channel an Opus packet holds, from its TOC byte alone (0 if malformed)."""
    if not payload:
        return 0
    toc = payload[0]
    per_frame = _CONFIG_SAMPLES[toc >> 3]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code in (1, 2):
        frames = 2
    else:
        if len(payload) < 2:
            return 0
        frames = payload[1] & 0x3F
    return per_frame * frames


class OpusDecoder:
    """A stateful decoder for one Opus stream; produces interleaved stereo s16le bytes."""

    def __init__(self, codec_names: tuple[str, ...] = ("libopus", "opus")) -> None:
        self._codec = _open_codec(codec_names)

    def decode(self, payload: bytes) -> bytes:
        """Decode one Opus packet; raise OpusDecodeError when the decoder rejects it."""
        try:
            frames = self._codec.decode(av.Packet(payload))
        except av.error.FFmpegError as exc:
            raise OpusDecodeError(str(exc)) from exc
        chunks = [self._to_s16(frame) for frame in frames]
        return b"".join(chunks)

    @staticmethod
    def _to_s16(frame: av.AudioFrame) -> bytes:
        array = frame.to_ndarray()
        if frame.format.name == "s16":
            # libopus gives packed s16 already: shape (1, samples * channels).
            return bytes(array.tobytes())
        # FFmpeg's native decoder gives planar float: shape (channels, samples).
        samples = np.asarray(array, dtype=np.float64)
        interleaved = samples.T if frame.format.is_planar else samples.reshape(-1, CHANNELS)
        scaled = np.clip(interleaved, -1.0, 1.0) * 32767.0
        return bytes(scaled.astype("<i2").tobytes())


def _open_codec(names: tuple[str, ...] = ("libopus", "opus")) -> av.AudioCodecContext:
    """Open libopus (packed s16 output); fall back to FFmpeg's native Opus decoder (planar float)."""
    for name in names:
        try:
            codec = av.CodecContext.create(name, "r")
        except (av.error.FFmpegError, ValueError):
            continue
        assert isinstance(codec, av.AudioCodecContext)
        codec.layout = "stereo"
        codec.sample_rate = SAMPLE_RATE
        return codec
    raise RuntimeError("PyAV has no Opus decoder")
