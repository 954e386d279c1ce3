"""Opus decoding in-process (PyAV), on packets ffmpeg encoded like FFmpegOpusAudio does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zilean.core import analysis
from zilean.sandbox.voice import decode

from .conftest import encode_opus_packets


@pytest.fixture(scope="module")
def tone_packets(tmp_path_factory: pytest.TempPathFactory, ffmpeg: str) -> list[bytes]:
    return encode_opus_packets(ffmpeg, "sine=frequency=440:duration=1", tmp_path_factory.mktemp("opus"))


@pytest.mark.parametrize("codec", ["libopus", "opus"])
def test_decodes_ffmpeg_opus_to_48k_stereo_s16(tone_packets: list[bytes], codec: str) -> None:
    assert tone_packets[0].startswith(b"OpusHead") and tone_packets[1].startswith(b"OpusTags")
    audio = [p for p in tone_packets if not decode.is_ogg_header(p)]
    decoder = decode.OpusDecoder((codec,))
    pcm = b"".join(decoder.decode(p) for p in audio)
    expected_samples = sum(decode.packet_samples(p) for p in audio)
    assert expected_samples == 960 * len(audio)
    assert len(pcm) == expected_samples * decode.BYTES_PER_FRAME
    channels = analysis.pcm16_to_channels(pcm)
    assert analysis.dominant_frequency(channels[4800:, 0]) == pytest.approx(440, abs=1)
    assert np.allclose(channels[:, 0], channels[:, 1], atol=2e-3)  # mono source upmixed to two channels


def test_header_packets_and_garbage_are_decode_errors_not_crashes(tone_packets: list[bytes]) -> None:
    decoder = decode.OpusDecoder()
    for bad in (b"garbage-not-opus\xff\xff\xff" * 3,):
        with pytest.raises(decode.OpusDecodeError):
            decoder.decode(bad)
    # The decoder keeps working after an error.
    assert len(decoder.decode(tone_packets[5])) == 960 * decode.BYTES_PER_FRAME


def test_discord_silence_frame_decodes_to_20ms_of_silence() -> None:
    pcm = decode.OpusDecoder().decode(b"\xf8\xff\xfe")
    assert len(pcm) == 3840
    assert analysis.is_silent(analysis.pcm16_to_channels(pcm).ravel())


@pytest.mark.parametrize(
    ("toc", "samples"),
    [
        (b"\xfc\x00", 960),
        (b"\xf8\xff\xfe", 960),
        (b"\x08", 960),
        (b"\x18", 2880),
        (b"\xe0", 120),
        (b"\xfd", 1920),
        (b"\xfb\x83", 3 * 960),
        (b"", 0),
        (b"\xfb", 0),
    ],
)
def test_packet_duration_from_the_toc_byte(toc: bytes, samples: int) -> None:
    assert decode.packet_samples(toc) == samples


def test_ogg_header_detection() -> None:
    assert decode.is_ogg_header(b"OpusHead\x01\x02")
    assert decode.is_ogg_header(b"OpusTags\x0d\x00")
    assert not decode.is_ogg_header(b"\xfc\xff\xfe")


def test_pyav_is_what_decodes(tmp_path: Path) -> None:
    # No system libopus is needed: the decoder is PyAV's bundled one.
    assert decode.OpusDecoder()._codec.name in {"libopus", "opus"}
