"""Lyrics from an lrclib-compatible API (https://lrclib.net/docs): a small client, a cache and an LRC parser.

`/api/get` matches a track's signature (title, artist, album, duration ± 2 s) exactly; `/api/search?q=`
is the fallback for tracks without an artist, odd titles and free-text queries.
"""

from __future__ import annotations

import bisect
import re
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import httpx

from zilean import __version__
from zilean.core.errors import ZileanError

DEFAULT_BASE = "https://lrclib.net"
# lrclib asks every client to name itself and its version (its docs: "User-Agent" header).
USER_AGENT = f"GroovyZilean/{__version__} (self-hosted Discord music bot)"
TIMEOUT_S = 5.0
CACHE_SIZE = 256
CACHE_TTL_S = 6 * 3600.0
NOT_FOUND_TTL_S = 600.0  # a track may get lyrics later; don't remember "none" for as long
MAX_QUERY = 200

# `[mm:ss.xx]`, `[mm:ss]`, `[mm:ss:xx]`, `[mm:ss.xxx]`; a line may carry several stamps.
_STAMP = re.compile(r"\[(\d{1,3}):(\d{1,2})(?:[.:](\d{1,3}))?\]")
# Noise in video titles that no lyrics database files under: "(Official Video)", "[Lyrics]", "(HD)".
_NOISE = re.compile(
    r"\s*[(\[][^)\]]*\b(official|video|audio|lyrics?|visuali[sz]er|hd|hq|4k|remaster(ed)?|mv|clip)\b[^)\]]*[)\]]",
    re.IGNORECASE,
)
_BRACKETS = re.compile(r"\s*[(\[][^)\]]*[)\]]")  # "(Suite bergamasque, L. 75)", "[Live at Home]"


class LyricsError(ZileanError):
    """Lyrics could not be fetched (the service is unreachable, slow or broken)."""


class LyricsNotFound(ZileanError):
    """The service has no lyrics for the track or query."""


@dataclass(frozen=True, slots=True)
class LyricLine:
    """One synced line: when it starts and what is sung."""

    time_ms: int
    text: str


@dataclass(frozen=True, slots=True)
class Lyrics:
    """One lrclib record."""

    id: int | None
    track_name: str
    artist_name: str
    album_name: str
    duration_s: float | None
    instrumental: bool
    plain: str
    synced: tuple[LyricLine, ...]

    @property
    def text(self) -> str:
        """The words to show: the plain lyrics, else the synced lines without their stamps."""
        if self.plain.strip():
            return self.plain.strip()
        return "\n".join(line.text for line in self.synced).strip()

    def line_at(self, position_ms: int) -> int | None:
        """The index of the synced line being sung at `position_ms`, None before the first one."""
        index = bisect.bisect_right([line.time_ms for line in self.synced], position_ms) - 1
        return index if index >= 0 else None


def parse_lrc(text: str) -> tuple[LyricLine, ...]:
    """Synced lines from LRC text, in time order; tags like `[ar:…]` and lines without a stamp are skipped."""
    lines: list[LyricLine] = []
    for raw in text.splitlines():
        stamps = []
        rest = raw.strip()
        while match := _STAMP.match(rest):
            minutes, seconds, fraction = match.groups()
            ms = int(fraction.ljust(3, "0")) if fraction else 0
            stamps.append((int(minutes) * 60 + int(seconds)) * 1000 + ms)
            rest = rest[match.end() :].lstrip()
        lines += [LyricLine(stamp, rest) for stamp in stamps]
    lines.sort(key=lambda line: line.time_ms)  # stable: repeated stamps keep the file's order
    return tuple(lines)


def from_record(record: dict[str, Any]) -> Lyrics:
    """A Lyrics from one lrclib JSON object (tolerant of missing or null fields)."""
    duration = record.get("duration")
    raw_id = record.get("id")
    return Lyrics(
        id=raw_id if isinstance(raw_id, int) else None,
        track_name=str(record.get("trackName") or record.get("name") or ""),
        artist_name=str(record.get("artistName") or ""),
        album_name=str(record.get("albumName") or ""),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
        instrumental=bool(record.get("instrumental")),
        plain=str(record.get("plainLyrics") or ""),
        synced=parse_lrc(str(record.get("syncedLyrics") or "")),
    )


def clean_title(title: str, artist: str | None) -> tuple[str, str | None]:
    """(title, artist) as a lyrics database files them: video noise removed, "Artist - Title" split."""
    cleaned = _NOISE.sub("", title).strip() or title.strip()
    if not artist and " - " in cleaned:
        guessed, _, rest = cleaned.partition(" - ")
        if guessed.strip() and rest.strip():
            return rest.strip(), guessed.strip()
    return cleaned, artist.strip() if artist else None


class LyricsClient:
    """Looks lyrics up, remembering answers (found and not found) for a while; errors are not remembered."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE,
        *,
        timeout_s: float = TIMEOUT_S,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout_s
        self._http: httpx.AsyncClient | None = None
        self._cache: OrderedDict[tuple[str, ...], tuple[float, Lyrics | None]] = OrderedDict()
        self._cache_size = cache_size

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:  # made on first use, inside the event loop that uses it
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self._timeout,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                follow_redirects=False,
            )
        return self._http

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def clear_cache(self) -> None:
        """Forget every remembered answer."""
        self._cache.clear()

    async def for_track(self, title: str, artist: str | None, duration_ms: int | None) -> Lyrics:
        """The lyrics of a playing track: an exact `/api/get` match first, then the best `/api/search` hit."""
        name, who = clean_title(title, artist)
        if who:
            params = {"track_name": name, "artist_name": who}
            if duration_ms:
                params["duration"] = str(round(duration_ms / 1000))
            found = await self._cached(("get", *params.values()), self._get, params)
            if found is not None:
                return found
        queries = [name]
        bare = _BRACKETS.sub("", name).strip()
        if bare and bare != name:  # then without any bracketed part: search matches every word
            queries.append(bare)
        for title_words in queries[:-1]:
            try:
                return await self.search(
                    f"{who} {title_words}" if who else title_words, duration_ms=duration_ms
                )
            except LyricsNotFound:
                pass
        last = queries[-1]
        return await self.search(f"{who} {last}" if who else last, duration_ms=duration_ms)

    async def search(self, query: str, *, duration_ms: int | None = None) -> Lyrics:
        """The best `/api/search?q=` hit for free text (closest in duration when one is known)."""
        query = " ".join(query.split())[:MAX_QUERY]
        if not query:
            raise LyricsNotFound("Tell me what to look for: a song title, maybe with the artist.")
        key = ("search", query.casefold(), str(duration_ms or ""))
        found = await self._cached(key, self._search, query, duration_ms)
        if found is None:
            raise LyricsNotFound(f"No lyrics found for “{query[:80]}”.")
        return found

    async def _cached(self, key: tuple[str, ...], fetch: Any, *args: Any) -> Lyrics | None:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            self._cache.move_to_end(key)
            return hit[1]
        value: Lyrics | None = await fetch(*args)
        self._cache[key] = (now + (CACHE_TTL_S if value is not None else NOT_FOUND_TTL_S), value)
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return value

    async def _get(self, params: dict[str, str]) -> Lyrics | None:
        body = await self._request("/api/get", params)
        return from_record(body) if isinstance(body, dict) and _has_words(body) else None

    async def _search(self, query: str, duration_ms: int | None) -> Lyrics | None:
        body = await self._request("/api/search", {"q": query})
        if not isinstance(body, list):
            return None
        records = [r for r in body if isinstance(r, dict) and _has_words(r)]
        if not records:
            return None
        if duration_ms:  # several releases of one song: the one whose length matches the track's
            wanted = duration_ms / 1000

            def distance(record: dict[str, Any]) -> float:
                length = record.get("duration")
                return abs(length - wanted) if isinstance(length, int | float) else float("inf")

            best = min(records, key=distance)
        else:
            best = records[0]
        return from_record(best)

    async def _request(self, path: str, params: dict[str, str]) -> Any:
        """The JSON answer, None for a 404; LyricsError for every other failure (never a traceback)."""
        try:
            response = await self._client().get(path, params=params)
        except httpx.TimeoutException:
            raise LyricsError("The lyrics service took too long to answer. Try again later.") from None
        except httpx.HTTPError:
            raise LyricsError("The lyrics service can't be reached right now. Try again later.") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise LyricsError(
                f"The lyrics service answered with an error ({response.status_code}). Try again later."
            )
        try:
            return response.json()
        except ValueError:
            raise LyricsError("The lyrics service sent something that isn't lyrics.") from None


def _has_words(record: dict[str, Any]) -> bool:
    """A record worth showing: it has lyrics, or it says the track is instrumental."""
    return bool(record.get("plainLyrics") or record.get("syncedLyrics") or record.get("instrumental"))


def paginate(lines: list[str], limit: int) -> list[str]:
    """`lines` joined into pages of at most `limit` characters, split between lines; overlong lines cut."""
    pages: list[str] = []
    page: list[str] = []
    size = 0
    for line in lines:
        line = line if len(line) <= limit else line[: limit - 1] + "…"
        extra = len(line) + (1 if page else 0)
        if page and size + extra > limit:
            pages.append("\n".join(page).strip("\n"))
            page, size, extra = [], 0, len(line)
        page.append(line)
        size += extra
    if page:
        pages.append("\n".join(page).strip("\n"))
    return [p for p in pages if p.strip()] or [""]
