"""What a file is, from its first bytes (magic numbers), not from its name."""

from __future__ import annotations

from dataclasses import dataclass

SUPPORTED = "MP3, MP4, WAV, OGG, FLAC, M4A, WEBM, AAC, OPUS"


@dataclass(frozen=True, slots=True)
class FileKind:
    """A recognised file type: a short name, a phrase for users, and whether the bot plays it."""

    name: str
    label: str
    is_audio: bool


def _audio(name: str, label: str) -> FileKind:
    return FileKind(name, label, True)


def _other(name: str, label: str) -> FileKind:
    return FileKind(name, label, False)


UNKNOWN = _other("unknown", "not in a supported audio format")

# Prefixes of common things people link by mistake, so the refusal can say what they linked.
_NOT_AUDIO: tuple[tuple[bytes, FileKind], ...] = (
    (b"\x89PNG\r\n\x1a\n", _other("png", "a PNG image")),
    (b"\xff\xd8\xff", _other("jpeg", "a JPEG image")),
    (b"GIF87a", _other("gif", "a GIF image")),
    (b"GIF89a", _other("gif", "a GIF image")),
    (b"BM", _other("bmp", "a BMP image")),
    (b"%PDF", _other("pdf", "a PDF document")),
    (b"PK\x03\x04", _other("zip", "a ZIP archive")),
    (b"PK\x05\x06", _other("zip", "a ZIP archive")),
    (b"Rar!\x1a\x07", _other("rar", "a RAR archive")),
    (b"7z\xbc\xaf\x27\x1c", _other("7z", "a 7-Zip archive")),
    (b"\x1f\x8b", _other("gzip", "a gzip archive")),
    (b"\x7fELF", _other("elf", "a program")),
    (b"MZ", _other("exe", "a Windows program")),
    (b"#EXTM3U", _other("hls", "a stream playlist (HLS)")),
)
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P "}


def sniff(data: bytes) -> FileKind:
    """The kind of file whose first bytes are `data`."""
    if data.startswith(b"ID3") and len(data) >= 10:
        return _after_id3(data)
    if data.startswith(b"fLaC"):
        return _audio("flac", "FLAC audio")
    if data.startswith(b"OggS"):
        if b"OpusHead" in data[:512]:
            return _audio("opus", "Opus audio")
        return _audio("ogg", "OGG audio")
    if data.startswith(b"RIFF") and len(data) >= 12:
        return {
            b"WAVE": _audio("wav", "WAV audio"),
            b"AVI ": _other("avi", "an AVI video"),
            b"WEBP": _other("webp", "a WebP image"),
        }.get(data[8:12], UNKNOWN)
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        if b"webm" in data[:64]:
            return _audio("webm", "WEBM audio")
        return _audio("matroska", "Matroska audio")
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _IMAGE_BRANDS:
            return _other("heif", "a HEIF/AVIF image")
        if brand in _M4A_BRANDS:
            return _audio("m4a", "M4A audio")
        return _audio("mp4", "MP4 media")
    frame = _mpeg_frame(data)
    if frame:
        return frame
    for prefix, kind in _NOT_AUDIO:
        if data.startswith(prefix):
            return kind
    return _text_kind(data)


def _after_id3(data: bytes) -> FileKind:
    """An ID3 tag usually precedes MP3, but may precede AAC or FLAC: look behind it if we can."""
    size = 10 + ((data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F))
    if data[5] & 0x10:  # footer present
        size += 10
    rest = data[size:]
    if len(rest) >= 4:
        inner = sniff(rest)
        if inner.is_audio:
            return inner
    return _audio("mp3", "MP3 audio")


def _mpeg_frame(data: bytes) -> FileKind | None:
    """An MPEG audio (MP3) or ADTS (AAC) frame header at the very start."""
    if len(data) < 4 or data[0] != 0xFF:
        return None
    second = data[1]
    if second & 0xF6 == 0xF0:  # 12 sync bits, layer 00: ADTS
        return _audio("aac", "AAC audio")
    layer = (second >> 1) & 0x3
    version = (second >> 3) & 0x3
    bitrate = data[2] >> 4
    if second & 0xE0 == 0xE0 and layer != 0 and version != 1 and bitrate != 0xF:
        return _audio("mp3", "MP3 audio")
    return None


def _text_kind(data: bytes) -> FileKind:
    text = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<body" in text:
        return _other("html", "an HTML page")
    if b"<mpd" in text:
        return _other("dash", "a DASH manifest (the bot does not play those)")
    if text.startswith(b"<?xml") or text.startswith(b"<rss"):
        return _other("xml", "an XML document")
    if text.startswith((b"{", b"[")):
        return _other("json", "a JSON document")
    if text and all(byte in b"\t\r\n" or 32 <= byte < 127 or byte >= 0x80 for byte in text[:512]):
        return _other("text", "a text file")
    return UNKNOWN
