"""The front door: a query or link becomes a LoadResult; a track becomes the MediaInput ffmpeg reads."""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import Collection
from typing import Any

from zilean.core.errors import SourceError, ZileanError, cause_of
from zilean.core.media import MediaInput
from zilean.core.sources.autoplay import as_autoplay, pick_local, pick_online, related_query
from zilean.core.sources.direct import DirectFiles, name_from_url, refusal
from zilean.core.sources.egress import EgressProxy
from zilean.core.sources.library import Library
from zilean.core.sources.netguard import NetGuard, Resolve, origin_of
from zilean.core.sources.options import SourceOptions
from zilean.core.sources.results import LoadFailed, LoadResult, NoMatches, PlaylistLoaded, TrackLoaded
from zilean.core.sources.spotify import SpotifyClient, is_spotify_link
from zilean.core.sources.streams import check_hls, media_input_for
from zilean.core.sources.ytdlp import ExtractFailed, YtDlpRunner
from zilean.core.text import quoted_title
from zilean.core.track import Track

log = logging.getLogger(__name__)

# A scheme followed by "//", or one of the schemes people try in order to read local things.
_URL_LIKE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|(?:file|data|javascript|jar|netdoc):)", re.IGNORECASE)
HTTP_PREFIXES = ("http://", "https://")
DIRECT_SOURCES = frozenset({"http", "upload"})
# Sniffed kinds that may be a page yt-dlp understands (rather than a file to refuse at once).
PAGE_KINDS = frozenset({"html", "xml"})
MATCH_CACHE_SIZE = 1000
RELATED_HITS = 10  # search hits autoplay chooses among for an online track


# Bidirectional controls reorder how a reply shows the query; control characters do nothing useful.
_INVISIBLE = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


# yt-dlp failure kinds that say the provider is blocking the bot, not that the query is bad:
# a search then tries SEARCH_FALLBACKS (kind → the words the reply uses).
BLOCKING_KINDS = {
    "signin": "a sign-in check",
    "rate_limited": "rate limited",
    "network": "unreachable",
    "timeout": "too slow",
    "error": "refused",
}
PROVIDER_NAMES = {
    "ytsearch": "YouTube",
    "ytmsearch": "YouTube Music",
    "scsearch": "SoundCloud",
    "local": "the local library",
}


def provider_name(provider: str) -> str:
    """A search provider as users know it (`scsearch` → SoundCloud)."""
    return PROVIDER_NAMES.get(provider, provider.removesuffix("search") or provider)


def _clean(query: str) -> str:
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", query)).strip()
    if text.startswith("<") and text.endswith(">"):  # Discord's "no embed" brackets
        text = text[1:-1].strip()
    if text.lower().startswith("www."):
        text = "https://" + text
    return text


def track_from_entry(entry: dict[str, Any]) -> Track:
    """A Track from one of the yt-dlp worker's entries (flat playlist item, search hit or video)."""
    duration = entry.get("duration")
    return Track(
        title=str(entry.get("title") or name_from_url(str(entry.get("url", "")))),
        url=str(entry["url"]),
        source=str(entry.get("extractor") or "generic").lower(),
        duration_ms=round(float(duration) * 1000) if duration else None,
        thumbnail=entry.get("thumbnail"),
        artist=entry.get("artist"),
    )


class Resolver:
    """Resolves queries (links, searches, `local:`, Spotify) and the streams of queued tracks."""

    def __init__(
        self, options: SourceOptions, *, resolve: Resolve | None = None, runner: YtDlpRunner | None = None
    ) -> None:
        self.options = options
        self.guard = NetGuard(options.trusted_origins, resolve=resolve, max_redirects=options.max_redirects)
        self._client = self.guard.client(options.http_timeout)
        # What yt-dlp found through YTDLP_PROXY is fetched through it too (stream URLs may be bound
        # to the address that asked for them).
        proxy = options.ytdlp.proxy
        self._ytdlp_client = self.guard.client(options.http_timeout, proxy=proxy) if proxy else self._client
        # ffmpeg's only way to the network: every fetch it makes passes the guard there.
        self.egress = EgressProxy(self.guard, self._client, stream_limit_s=options.stream_limit_minutes * 60)
        self._direct = DirectFiles(
            self.guard, self._client, self.egress, options.ffmpeg_executable(), options.max_upload_bytes
        )
        trusted = [origin_of(origin)[1:] for origin in self.guard.trusted_origins]
        self._ytdlp = runner or YtDlpRunner(
            trusted, timeout=options.ytdlp_timeout, workers=options.ytdlp_workers, config=options.ytdlp
        )
        self._library = (
            Library(options.library_dir, rescan_seconds=options.library_rescan_seconds)
            if options.library_dir
            else None
        )
        self._spotify = SpotifyClient(
            options.spotify_client_id,
            options.spotify_client_secret,
            api_base=options.spotify_api_base,
            accounts_base=options.spotify_accounts_base,
            limit=options.playlist_limit,
            timeout=options.http_timeout,
        )
        self._matches: OrderedDict[str, Track] = OrderedDict()

    async def start(self, every: bool = False) -> None:
        """Start a yt-dlp worker (or all of them) now, so the first `play` does not wait for its import."""
        await self._ytdlp.start(every)

    async def resolve(self, query: str) -> LoadResult:
        """Exactly one of TrackLoaded, PlaylistLoaded, NoMatches, LoadFailed; never raises for bad input."""
        try:
            return await self._resolve(_clean(query))
        except ZileanError as exc:
            return LoadFailed(exc.message, cause_of(exc))
        except Exception:
            log.exception("resolving %r failed", query)
            return LoadFailed("Something went wrong while loading that.", "internal")

    async def search(self, query: str, limit: int) -> list[Track]:
        """Up to `limit` tracks for search text, best first (`local:` words search the library).

        For a choice of results (the `search` command); raises SourceError when it cannot search.
        """
        return (await self._search_all(_clean(query), limit))[0]

    async def _search_all(self, text: str, limit: int) -> tuple[list[Track], str | None]:
        """Hits on the search provider or, when it blocks us, on the first fallback that answers;
        with a note naming the fallback used (None: the provider's own hits)."""
        if not text:
            return [], None
        if text.lower().startswith("local:"):
            return await self._need_library().search(text[len("local:") :].strip(), limit=limit), None
        provider = self.options.search_provider
        try:
            return await self._search_on(provider, text, limit), None
        except ExtractFailed as blocked:
            if blocked.kind not in BLOCKING_KINDS:
                raise
            for fallback in self.options.search_fallbacks:
                if fallback == provider or (fallback == "local" and self._library is None):
                    continue
                try:
                    hits = await self._search_on(fallback, text, limit)
                except ExtractFailed as also:
                    log.info("fallback search on %s failed too: %s", fallback, also.kind)
                    continue
                if hits:
                    log.info("search on %s blocked (%s); used %s", provider, blocked.kind, fallback)
                    note = (
                        f"{provider_name(provider)} is not answering searches right now "
                        f"({BLOCKING_KINDS[blocked.kind]}), so this is from {provider_name(fallback)}."
                    )
                    return hits, note
            raise

    async def _search_on(self, provider: str, text: str, limit: int) -> list[Track]:
        if provider == "local":
            return await self._need_library().search(text, limit=limit)
        info = await self._ytdlp.extract(f"{provider}{limit}:{text}", flat=True, limit=limit)
        return [track_from_entry(entry) for entry in info.get("entries", []) if entry.get("url")][:limit]

    async def resolve_file(self, url: str, filename: str | None = None) -> LoadResult:
        """An uploaded file (e.g. a Discord attachment URL): audio by content, or a refusal naming it."""
        try:
            return TrackLoaded(await self._direct.load(_clean(url), source="upload", filename=filename))
        except ZileanError as exc:
            return LoadFailed(exc.message, cause_of(exc))

    async def stream_for(self, track: Track) -> MediaInput:
        """The media to play for track, resolved now (stream URLs expire); raises ZileanError."""
        if track.source == "local":
            return self._need_library().media_input(track)
        if track.source == "spotify":
            return await self.stream_for(await self.match(track))
        if track.source in DIRECT_SOURCES:
            return await media_input_for(self.guard, self._client, self.egress, track.url)
        await self.guard.check_url(track.url)  # playlist entries can point anywhere
        info = await self._ytdlp.extract(track.url, flat=False, allow_generic=True)
        stream_url = info.get("stream_url")
        if info.get("type") != "video" or not stream_url:
            raise SourceError(f"{quoted_title(track.title)} has no playable stream.")
        headers = {str(k): str(v) for k, v in (info.get("http_headers") or {}).items()}
        return await media_input_for(self.guard, self._ytdlp_client, self.egress, str(stream_url), headers)

    async def match(self, track: Track) -> Track:
        """The playable track a metadata-only track (Spotify) stands for, found with the search provider."""
        cached = self._matches.get(track.url)
        if cached:
            self._matches.move_to_end(track.url)
            return cached
        query = f"{track.artist} - {track.title}" if track.artist else track.title
        found = await self._search(query)
        if not isinstance(found, TrackLoaded):
            raise SourceError(f"Couldn't find {quoted_title(track.title)} to play.")
        matched = found.track
        self._matches[track.url] = matched
        while len(self._matches) > MATCH_CACHE_SIZE:
            self._matches.popitem(last=False)
        return matched

    async def related(self, track: Track, recent_urls: Collection[str]) -> Track | None:
        """A track to autoplay after `track`, not among `recent_urls`; None when nothing fits.

        Local tracks: the library by artist, album, then any (core.autoplay.pick_local). Online
        tracks: yt-dlp has no related-results API for its search providers, so this searches for
        the artist's name (else the title) and takes the first hit not played recently.
        """
        if track.source == "local":
            if self._library is None:
                return None
            entries = await self._library.entries()
            picked = pick_local(self._library.entry_of(track), entries, recent_urls, artist=track.artist)
            return as_autoplay(self._library.track(picked)) if picked else None
        hits = await self.search(related_query(track), RELATED_HITS)
        found = pick_online(track, hits, recent_urls)
        return as_autoplay(found) if found else None

    async def close(self) -> None:
        """Stop the yt-dlp workers and close connections."""
        await self._ytdlp.close()
        await self.egress.close()
        await self._client.aclose()
        if self._ytdlp_client is not self._client:
            await self._ytdlp_client.aclose()
        await self._spotify.close()
        if self._library:
            self._library.close()

    async def _resolve(self, query: str) -> LoadResult:
        if not query:
            return NoMatches(query)
        if query.lower().startswith("local:"):
            return await self._local(query[len("local:") :].strip())
        if is_spotify_link(query):
            return await self._spotify.load(query)
        if _URL_LIKE.match(query):
            return await self._url(query)
        return await self._search(query)

    async def _url(self, url: str) -> LoadResult:
        await self.guard.check_url(url)  # before yt-dlp or anything else touches it
        limit = self.options.playlist_limit
        info = await self._ytdlp.extract(url, flat=True, limit=limit, allow_generic=False)
        if info["type"] == "generic":
            kind, final_url, size = await self._direct.sniff_url(url)
            if kind.is_audio:
                return TrackLoaded(await self._direct.track_for(url, kind, final_url, size))
            if kind.name == "hls":
                await check_hls(self.guard, self._client, final_url)
                return TrackLoaded(Track(title=name_from_url(url), url=url, source="http"))
            if kind.name not in PAGE_KINDS:
                raise SourceError(refusal(kind))
            info = await self._ytdlp.extract(url, flat=True, limit=limit, allow_generic=True)
        return await self._from_info(info)

    async def _from_info(self, info: dict[str, Any]) -> LoadResult:
        if info["type"] == "playlist":
            limit = self.options.playlist_limit
            # Entries are checked for real when they play; other schemes are dropped at once.
            entries = [e for e in info.get("entries", []) if str(e.get("url", "")).startswith(HTTP_PREFIXES)]
            tracks = tuple(track_from_entry(entry) for entry in entries[:limit])
            if not tracks:
                raise SourceError("That playlist is empty.")
            count = info.get("count")
            truncated = None
            if len(entries) > limit:
                truncated = int(count) if count and int(count) > limit else len(entries)
            return PlaylistLoaded(str(info.get("title") or "Playlist"), tracks, truncated)
        stream_url = info.get("stream_url")
        if stream_url:
            # Check what yt-dlp found before anything fetches it (a page may point inward).
            await self.guard.check_url(str(stream_url))
        return TrackLoaded(track_from_entry(info))

    async def _search(self, text: str) -> LoadResult:
        hits, note = await self._search_all(_clean(text), 1)
        return TrackLoaded(hits[0], note) if hits else NoMatches(text)

    async def _local(self, words: str) -> LoadResult:
        hits = await self._need_library().search(words, limit=1)
        return TrackLoaded(hits[0]) if hits else NoMatches(words)

    def _need_library(self) -> Library:
        if self._library is None:
            raise SourceError("The local music library is not set up (LIBRARY_DIR).")
        return self._library
