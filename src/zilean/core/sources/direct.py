"""Direct audio-file links and Discord uploads: validated by content, with a size limit.

The first bytes are fetched through the network guard and sniffed; then ffmpeg (in its own
process — the wheel has no ffprobe) reads the header through the egress proxy for duration and tags.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx

from zilean.core.errors import SourceError
from zilean.core.media import MediaInput
from zilean.core.pipeline import ffmpeg_env, input_args
from zilean.core.sources.egress import EgressProxy
from zilean.core.sources.netguard import NetGuard
from zilean.core.sources.sniff import SUPPORTED, FileKind, sniff
from zilean.core.track import Track

log = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
MAX_TAG_LENGTH = 200
_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.MULTILINE)
_TAG = re.compile(r"^\s{4,}(title|artist)\s*: (.+)$", re.MULTILINE | re.IGNORECASE)
_AUDIO_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*: Audio: ", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Probe:
    """What ffmpeg says about a media file's header."""

    has_audio: bool
    duration_ms: int | None = None
    title: str | None = None
    artist: str | None = None


def parse_ffmpeg_banner(stderr: str) -> Probe:
    """Duration, tags and whether there is an audio stream, from `ffmpeg -i` output."""
    duration_ms = None
    match = _DURATION.search(stderr)
    if match:
        hours, minutes, seconds = int(match[1]), int(match[2]), float(match[3])
        duration_ms = round((hours * 3600 + minutes * 60 + seconds) * 1000)
    tags: dict[str, str] = {}
    for key, value in _TAG.findall(stderr):
        tags.setdefault(key.lower(), value.strip()[:MAX_TAG_LENGTH])
    return Probe(
        has_audio=bool(_AUDIO_STREAM.search(stderr)),
        duration_ms=duration_ms,
        title=tags.get("title"),
        artist=tags.get("artist"),
    )


async def probe_media(
    ffmpeg: str,
    media: MediaInput,
    *,
    timeout: float = 15.0,  # noqa: ASYNC109 (a subprocess deadline, also used to kill it)
) -> Probe:
    """Run `ffmpeg -i` on a guarded MediaInput (with the playback input options), and parse what it prints."""
    process = await asyncio.create_subprocess_exec(
        ffmpeg, "-hide_banner", "-nostdin", *input_args(media),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        env=ffmpeg_env(media),
    )  # fmt: skip
    try:
        async with asyncio.timeout(timeout):
            _, stderr = await process.communicate()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise SourceError("Reading that file took too long.") from None
    return parse_ffmpeg_banner(stderr.decode("utf-8", errors="replace"))


def name_from_url(url: str) -> str:
    """A readable title from a URL's last path segment ('My%20Song.mp3' -> 'My Song')."""
    path = PurePosixPath(unquote(urlsplit(url).path))
    return (path.stem or path.name or urlsplit(url).hostname or "audio file")[:MAX_TAG_LENGTH]


def refusal(kind: FileKind) -> str:
    """The message for a file that is not playable audio."""
    if kind.name == "unknown":
        return f"That file is not in a supported audio format ({SUPPORTED})."
    return f"That file is {kind.label}, not audio."


class DirectFiles:
    """Loads direct file links: sniffs, checks the size, reads duration and tags."""

    def __init__(
        self,
        guard: NetGuard,
        client: httpx.AsyncClient,
        egress: EgressProxy,
        ffmpeg: str,
        max_bytes: int,
        probe_timeout: float = 15.0,
    ) -> None:
        self._guard = guard
        self._client = client
        self._egress = egress
        self._ffmpeg = ffmpeg
        self._max_bytes = max_bytes
        self._probe_timeout = probe_timeout

    async def sniff_url(self, url: str) -> tuple[FileKind, str, int | None]:
        """The kind of file at url, the URL after redirects, and its size when known."""
        head = await self._guard.fetch_head(self._client, url, limit=HEAD_BYTES)
        return sniff(head.data), head.url, head.total_size

    async def load(self, url: str, *, source: str = "http", filename: str | None = None) -> Track:
        """A Track for an audio file link, or SourceError saying what the link is instead."""
        kind, final_url, size = await self.sniff_url(url)
        return await self.track_for(url, kind, final_url, size, source=source, filename=filename)

    async def track_for(
        self,
        url: str,
        kind: FileKind,
        final_url: str,
        size: int | None,
        *,
        source: str = "http",
        filename: str | None = None,
    ) -> Track:
        """The Track for an already sniffed file (checks kind, size, then probes)."""
        if not kind.is_audio:
            raise SourceError(refusal(kind))
        if size is not None and size > self._max_bytes:
            raise SourceError(
                f"That file is {_megabytes(size)} MB; the limit is {_megabytes(self._max_bytes)} MB."
            )
        media = await self._egress.media_input(final_url)
        probe = await probe_media(self._ffmpeg, media, timeout=self._probe_timeout)
        if not probe.has_audio:
            raise SourceError(f"That file ({kind.label}) has no audio track the bot can play.")
        log.info("direct %s: %s, %s ms", url, kind.name, probe.duration_ms)
        return Track(
            title=probe.title or name_from_url(filename or url),
            url=url,
            source=source,
            duration_ms=probe.duration_ms,
            artist=probe.artist,
        )


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.0f}" if size >= 1024 * 1024 else f"{size / (1024 * 1024):.2f}"
