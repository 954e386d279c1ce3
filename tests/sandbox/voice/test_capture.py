"""Per-guild analysis on known signals with controlled arrival times."""

from __future__ import annotations

import asyncio
import io
import json
import wave

import pytest

from zilean.core import analysis
from zilean.sandbox.voice.capture import GuildCapture

from .conftest import encode_opus_packets

STEREO_LEFT_ONLY = "aevalsrc=0.5*sin(2*PI*1000*t)|0:s=48000:d=2"


@pytest.fixture(scope="module")
def left_tone(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> list[bytes]:
    """2 s: 1 kHz at amplitude 0.5 on the left, silence on the right."""
    return encode_opus_packets(ffmpeg, STEREO_LEFT_ONLY, tmp_path_factory.mktemp("left"))


def _feed(capture: GuildCapture, packets: list[bytes], start: float, step: float = 0.02) -> float:
    now = start
    for packet in packets:
        capture.on_packet(packet, now)
        now += step
    return now


def _decode_pending(capture: GuildCapture) -> None:
    pcm, errors = capture.decode_batch(capture.take_pending())
    capture.accept_pcm(pcm, errors)


def test_level_frequency_and_channels_of_a_known_signal(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1)
    capture.set_speaking(1, now=100.0)
    end = _feed(capture, left_tone, 100.0)
    _decode_pending(capture)
    stats = capture.stats(now=end)
    assert stats["header_packets"] == 2
    assert stats["packets"] == len(left_tone) - 2
    assert stats["seconds"] == pytest.approx(2.0, abs=0.03)
    assert stats["dominant_hz"] == pytest.approx(1000, abs=2)
    assert stats["rms_left"] == pytest.approx(0.5 / 2**0.5, rel=0.05)
    assert stats["rms_right"] < 0.01
    assert stats["rms"] == pytest.approx(0.5 / 2, rel=0.05)  # one channel of two carries the tone
    assert stats["silent"] is False
    assert stats["decode_errors"] == 0


def test_gaps_and_frame_deficit(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1)
    capture.set_speaking(1, now=0.0)
    # 60 packets at 20 ms, then 10 frames' worth of nothing (a 220 ms gap), then 40 more.
    now = _feed(capture, left_tone[:60], 0.0)
    now = _feed(capture, left_tone[60:100], now + 0.2)
    stats = capture.stats(now=now)
    assert stats["gap_p50_ms"] == pytest.approx(20, abs=0.01)
    assert stats["gap_max_ms"] == pytest.approx(220, abs=0.01)
    assert stats["frame_deficit"] == 10
    assert stats["frames_missing"] == 10
    assert stats["speaking_seconds"] == pytest.approx(2.2, abs=1e-6)


def test_frames_missing_does_not_depend_on_when_the_window_ends(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1)
    capture.set_speaking(1, now=0.0)
    # 50 packets on time, each 15 ms into its 20 ms cycle; the last one at 0.995 s.
    last = _feed(capture, left_tone[:50], 0.015) - 0.02
    # Read just before the 51st is due: the wall clock (1.014 s) already counts it, the span does not.
    stats = capture.stats(now=last + 0.019)
    assert stats["frame_deficit"] == 1
    assert stats["frames_missing"] == 0


def test_pauses_between_speaking_runs_are_not_gaps(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1)
    capture.set_speaking(1, now=0.0)
    now = _feed(capture, [*left_tone[2:20], *[b"\xf8\xff\xfe"] * 5], 0.0)
    capture.set_speaking(0, now=now)
    capture.set_speaking(1, now=now + 5.0)
    now = _feed(capture, left_tone[20:40], now + 5.0)
    stats = capture.stats(now=now)
    assert stats["gap_max_ms"] == pytest.approx(20, abs=0.01)
    assert stats["silence_frames"] == 5
    assert stats["frame_deficit"] == 0
    assert stats["frames_missing"] == 0  # the 5 s between the runs is not counted


def test_silence_is_detected_and_decode_errors_counted() -> None:
    capture = GuildCapture(1)
    _feed(capture, [b"\xf8\xff\xfe"] * 50 + [b"garbage-not-opus\xff\xff\xff" * 3], 0.0)
    _decode_pending(capture)
    stats = capture.stats(now=1.0)
    assert stats["silent"] is True
    assert stats["decode_errors"] == 1
    assert stats["rms"] == 0.0
    assert stats["rms_dbfs"] is None  # not -inf: the control API serves stats as strict JSON
    json.dumps(stats, allow_nan=False)


def test_wav_export_holds_the_last_seconds(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1, decode=False)  # the WAV comes from the Opus ring, decoding is optional
    _feed(capture, left_tone, 0.0)
    with wave.open(io.BytesIO(capture.wav(1.0))) as exported:
        assert (exported.getnchannels(), exported.getsampwidth(), exported.getframerate()) == (2, 2, 48000)
        frames = analysis.pcm16_to_channels(exported.readframes(exported.getnframes()))
    assert frames.shape[0] == 48000
    assert analysis.dominant_frequency(frames[:, 0]) == pytest.approx(1000, abs=2)
    assert analysis.rms(frames[:, 0]) == pytest.approx(0.5 / 2**0.5, rel=0.05)
    assert capture.stats(now=2.0)["rms"] == 0.0  # nothing decoded live when decoding is off


def test_wav_is_capped_at_sixty_seconds() -> None:
    capture = GuildCapture(1, decode=False)
    _feed(capture, [b"\xf8\xff\xfe"] * 3100, 0.0)
    with wave.open(io.BytesIO(capture.wav(120))) as exported:
        assert exported.getnframes() == 60 * 48000


def test_reset_forgets_measurements(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1)
    capture.set_speaking(1, now=0.0)
    _feed(capture, left_tone[:10], 0.0)
    capture.reset()
    stats = capture.stats()
    assert (stats["packets"], stats["header_packets"], stats["gap_p50_ms"]) == (0, 0, None)
    assert stats["speaking"] is True  # the connection's state survives a reset


async def test_subscribers_receive_decoded_pcm(left_tone: list[bytes]) -> None:
    capture = GuildCapture(1)
    stream = capture.subscribe()
    first = stream.__anext__()
    _feed(capture, left_tone[2:7], 0.0)
    pending = capture.take_pending()
    task = asyncio.ensure_future(first)
    await asyncio.sleep(0)
    capture.accept_pcm(*capture.decode_batch(pending))
    chunk = await asyncio.wait_for(task, 2)
    assert len(chunk) == 5 * 3840
    await stream.aclose()
