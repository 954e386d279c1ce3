"""An incremental Ogg page parser that turns ffmpeg's Ogg Opus output into Opus packets.

Feed it bytes as they arrive from a pipe; it returns the complete packets (RFC 3533 lacing:
a segment of 255 bytes continues the packet, a shorter one ends it, and a packet may span
pages). The `OpusHead` / `OpusTags` header packets of each logical stream are dropped
(RFC 7845 §3), so only audio packets come out. CRCs are not checked: the bytes come from our
own ffmpeg child through a pipe, not from a lossy medium, and checking them in Python would
cost CPU on every page of every stream.
"""

from __future__ import annotations

import struct

from zilean.core.errors import PlaybackError

CAPTURE = b"OggS"
# capture(4) version(1) header_type(1) granule(8) serial(4) sequence(4) crc(4) segments(1)
_HEADER = struct.Struct("<4sBBqIIIB")
_BEGIN_OF_STREAM = 0x02
_HEADER_PACKETS = (b"OpusHead", b"OpusTags")


class OggOpusParser:
    """Bytes in, Opus audio packets out; keeps partial pages and packets between calls."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._partial = bytearray()  # a packet continued on the next page
        self._packets_in_stream = 0
        self.pages = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add bytes; return every audio packet they completed, in order."""
        self.push(data)
        packets: list[bytes] = []
        while (page := self.take_page()) is not None:
            packets.extend(page)
        return packets

    def push(self, data: bytes) -> None:
        """Add bytes without parsing them yet (`take_page` parses one page at a time)."""
        self._buffer += data

    def take_page(self) -> list[bytes] | None:
        """The audio packets the next whole page completes (maybe none); None until one is buffered."""
        buffer = self._buffer
        if len(buffer) < _HEADER.size:
            return None
        if buffer[:4] != CAPTURE:
            raise PlaybackError("The audio encoder produced an unreadable stream.")
        _, version, header_type, _, _, _, _, segments = _HEADER.unpack_from(buffer)
        if version != 0:
            raise PlaybackError("The audio encoder produced an unreadable stream.")
        table_end = _HEADER.size + segments
        if len(buffer) < table_end:
            return None
        lacing = buffer[_HEADER.size : table_end]
        page_end = table_end + sum(lacing)
        if len(buffer) < page_end:
            return None

        if header_type & _BEGIN_OF_STREAM:
            self._packets_in_stream = 0
            self._partial.clear()
        completed: list[bytes] = []
        position = table_end
        for size in lacing:
            self._partial += buffer[position : position + size]
            position += size
            if size < 255:
                completed.append(bytes(self._partial))
                self._partial.clear()
        del buffer[:page_end]
        self.pages += 1
        return [packet for packet in completed if not self._is_header(packet)]

    def _is_header(self, packet: bytes) -> bool:
        index = self._packets_in_stream
        self._packets_in_stream += 1
        if index < len(_HEADER_PACKETS):
            if not packet.startswith(_HEADER_PACKETS[index]):
                raise PlaybackError("The audio encoder did not produce Opus.")
            return True
        return False
