"""From a stream URL to the MediaInput ffmpeg reads: redirects walked and HLS playlists vetted first.

The check here is the early refusal (a clear reply at `=play`): every variant, segment, key and
map URI of an HLS playlist is checked before the track is accepted. The enforcement is the egress
proxy (`zilean.core.sources.egress`): ffmpeg fetches everything through it, and it serves
playlists rewritten by `rewrite_playlist`, so no entry reaches ffmpeg unvetted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import urljoin

import httpx

from zilean.core.errors import SourceError, UnsafeURLError
from zilean.core.media import MediaInput
from zilean.core.sources.netguard import NetGuard, origin_of

if TYPE_CHECKING:
    from zilean.core.sources.egress import EgressProxy

log = logging.getLogger(__name__)

HLS_CONTENT_TYPES = frozenset(
    {"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"}
)
MAX_PLAYLIST_BYTES = 1024 * 1024
MAX_PLAYLIST_DEPTH = 2  # master -> media playlist is depth 1
SNIFF_BYTES = 4096
# RFC 8216 quotes URI values, but ffmpeg also reads an unquoted URI=... up to the next comma.
_URI_ATTRIBUTE = re.compile(r'URI=(?:"([^"]*)"|([^",]*))')
DASH_CONTENT_TYPES = frozenset({"application/dash+xml", "video/vnd.mpeg.dash.mpd"})
# Tags whose URI is itself a playlist (the rest are segments, keys or init sections).
_PLAYLIST_TAGS = ("#EXT-X-MEDIA:", "#EXT-X-I-FRAME-STREAM-INF:")


def looks_like_hls(content_type: str, data: bytes) -> bool:
    """True for an m3u8 playlist, by content type or by its first line."""
    return content_type in HLS_CONTENT_TYPES or data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"#EXTM3U")


def looks_like_dash(content_type: str, data: bytes) -> bool:
    """True for a DASH manifest (an MPD), by content type or by its root element."""
    return content_type in DASH_CONTENT_TYPES or b"<MPD" in data[:1024]


def _uri_value(match: re.Match[str]) -> str:
    quoted, bare = match.groups()
    return (quoted if quoted is not None else bare).strip()


def _attribute_uris(line: str) -> list[str]:
    return [_uri_value(match) for match in _URI_ATTRIBUTE.finditer(line)]


def rewrite_playlist(text: str, base_url: str, proxied: Callable[[str], str]) -> str:
    """The playlist with every URI (entries, URI= attributes quoted or not) replaced by proxied(absolute)."""

    def attribute(match: re.Match[str]) -> str:
        return f'URI="{proxied(urljoin(base_url, _uri_value(match)))}"'

    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            lines.append(_URI_ATTRIBUTE.sub(attribute, line))
        elif line:
            lines.append(proxied(urljoin(base_url, line)))
    return "\n".join(lines) + "\n"


def playlist_references(text: str, base_url: str) -> list[tuple[str, bool]]:
    """Every URI an m3u8 playlist refers to, made absolute, with whether it is a nested playlist."""
    found: list[tuple[str, bool]] = []
    next_is_variant = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            for uri in _attribute_uris(line):
                found.append((urljoin(base_url, uri), line.startswith(_PLAYLIST_TAGS)))
            if line.startswith("#EXT-X-STREAM-INF:"):
                next_is_variant = True
            continue
        found.append((urljoin(base_url, line), next_is_variant))
        next_is_variant = False
    return found


async def check_hls(guard: NetGuard, client: httpx.AsyncClient, url: str, depth: int = 0) -> None:
    """Fetch an HLS playlist (and its variant playlists) and check every URI in it, or raise."""
    async with guard.open(client, url) as response:
        if response.status_code >= 400:
            raise SourceError(f"The stream's playlist could not be fetched ({response.status_code}).")
        body = bytearray()
        try:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_PLAYLIST_BYTES:
                    raise SourceError("That stream's playlist is too large.")
        except httpx.HTTPError:
            raise SourceError("The site broke off while sending the stream's playlist.") from None
        final_url = str(response.url)
    text = body.decode("utf-8", errors="replace")
    if not looks_like_hls("", bytes(body)):
        raise SourceError("That stream's playlist is not a valid HLS playlist.")
    checked: set[tuple[str, str, int]] = set()
    for uri, is_playlist in playlist_references(text, final_url):
        origin = origin_of(uri)
        if origin not in checked:
            try:
                await guard.check_url(uri)
            except UnsafeURLError as exc:
                log.info("HLS playlist %s refers to refused %s", url, uri)
                raise UnsafeURLError(
                    f"That stream's playlist refers to something unsafe. {exc.message}"
                ) from None
            checked.add(origin)
        if is_playlist:
            if depth >= MAX_PLAYLIST_DEPTH:
                raise SourceError("That stream's playlists are nested too deeply.")
            await check_hls(guard, client, uri, depth + 1)


async def media_input_for(
    guard: NetGuard,
    client: httpx.AsyncClient,
    egress: EgressProxy,
    url: str,
    headers: dict[str, str] | None = None,
) -> MediaInput:
    """A MediaInput (read through the egress proxy) for url once it, its redirects and playlists passed."""
    head = await guard.fetch_head(client, url, limit=SNIFF_BYTES, headers=headers)
    if looks_like_dash(head.content_type, head.data):
        raise SourceError("That link is a DASH manifest, which the bot does not play.")
    if looks_like_hls(head.content_type, head.data):
        await check_hls(guard, client, head.url)
    return await egress.media_input(head.url, headers, client=client)
