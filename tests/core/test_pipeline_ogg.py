"""The Ogg page parser: lacing, packets spanning pages, header packets dropped, any chunking."""

from __future__ import annotations

import struct

import pytest

from zilean.core.errors import PlaybackError
from zilean.core.ogg import OggOpusParser


def page(
    packets: list[bytes], *, first: bool = False, continued: bool = False, unfinished: bool = False
) -> bytes:
    """Build one Ogg page; `unfinished` leaves the last packet open (its last segment is 255)."""
    lacing = bytearray()
    for index, packet in enumerate(packets):
        full, rest = divmod(len(packet), 255)
        lacing += b"\xff" * full
        if not (unfinished and index == len(packets) - 1):
            lacing.append(rest)
        elif rest:
            raise ValueError("an unfinished packet must be a multiple of 255 bytes on this page")
    header_type = (0x02 if first else 0) | (0x01 if continued else 0)
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, header_type, 0, 1, 0, 0, len(lacing))
    return header + bytes(lacing) + b"".join(packets)


HEAD = b"OpusHead" + bytes(11)
TAGS = b"OpusTags" + bytes(8)


def test_headers_dropped_and_audio_packets_returned() -> None:
    stream = page([HEAD], first=True) + page([TAGS]) + page([b"\xfc" + b"a" * 99, b"\xfc" + b"b" * 300])
    assert OggOpusParser().feed(stream) == [b"\xfc" + b"a" * 99, b"\xfc" + b"b" * 300]


def test_packet_spanning_two_pages_and_exact_multiple_of_255() -> None:
    big = bytes(range(256)) * 3  # 768 bytes
    stream = (
        page([HEAD], first=True)
        + page([TAGS])
        + page([big[:510]], unfinished=True)
        + page([big[510:], b"x" * 255], continued=True)
    )
    assert OggOpusParser().feed(stream) == [big, b"x" * 255]


@pytest.mark.parametrize("chunk", [1, 7, 255, 4096])
def test_any_chunking_gives_the_same_packets(chunk: int) -> None:
    audio = [bytes([0xFC]) + bytes([i]) * (i * 5) for i in range(1, 40)]
    stream = page([HEAD], first=True) + page([TAGS]) + page(audio[:20]) + page(audio[20:])
    parser = OggOpusParser()
    out: list[bytes] = []
    for start in range(0, len(stream), chunk):
        out += parser.feed(stream[start : start + chunk])
    assert out == audio
    assert parser.pages == 4


def test_garbage_and_non_opus_streams_are_refused() -> None:
    with pytest.raises(PlaybackError):
        OggOpusParser().feed(b"RIFF" + bytes(40))
    with pytest.raises(PlaybackError):
        OggOpusParser().feed(page([b"\x01vorbis" + bytes(20)], first=True))
