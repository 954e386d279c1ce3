"""Spotify track, album and playlist links: metadata from the Web API (client-credentials flow).

Spotify serves no audio to bots, so each track is queued with Spotify's metadata at once and
matched through the search provider when it is about to play (`Resolver.match`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

import httpx

from zilean.core.errors import SourceError
from zilean.core.sources.results import LoadResult, PlaylistLoaded, TrackLoaded
from zilean.core.track import Track

log = logging.getLogger(__name__)

_LINK = re.compile(
    r"^(?:https?://open\.spotify\.com/(?:intl-[a-zA-Z-]+/)?(?:embed/)?(track|album|playlist)/([A-Za-z0-9]+)"
    r"|spotify:(track|album|playlist):([A-Za-z0-9]+))",
)
NO_CREDENTIALS = (
    "Spotify links need Spotify API credentials: the bot's owner must set "
    "SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET."
)
TOKEN_MARGIN_SECONDS = 60


def is_spotify_link(text: str) -> bool:
    """True for open.spotify.com track/album/playlist links and spotify: URIs."""
    return _LINK.match(text.strip()) is not None


def parse_link(text: str) -> tuple[str, str]:
    """(kind, id) of a Spotify link."""
    match = _LINK.match(text.strip())
    if not match:
        raise SourceError("That is not a Spotify track, album or playlist link.")
    kind, ident = (match[1], match[2]) if match[1] else (match[3], match[4])
    return kind, ident


def track_from_api(item: dict[str, Any], album: dict[str, Any] | None = None) -> Track:
    """A Track from a Spotify track object (full or simplified)."""
    images = ((item.get("album") or album or {}).get("images")) or []
    url = (item.get("external_urls") or {}).get(
        "spotify"
    ) or f"https://open.spotify.com/track/{item.get('id')}"
    artists = ", ".join(a["name"] for a in item.get("artists") or [] if a.get("name"))
    return Track(
        title=str(item.get("name") or "Unknown title"),
        url=str(url),
        source="spotify",
        duration_ms=item.get("duration_ms"),
        thumbnail=images[0]["url"] if images else None,
        artist=artists or None,
    )


class SpotifyClient:
    """A small Spotify Web API client: one app token, refreshed before it expires."""

    def __init__(
        self,
        client_id: str | None,
        client_secret: str | None,
        *,
        api_base: str = "https://api.spotify.com/v1",
        accounts_base: str = "https://accounts.spotify.com",
        limit: int = 500,
        timeout: float = 10.0,
    ) -> None:
        self._id, self._secret = client_id, client_secret
        self._api = api_base.rstrip("/")
        self._accounts = accounts_base.rstrip("/")
        self._limit = limit
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None
        self._token: str | None = None
        self._token_expires = 0.0

    @property
    def configured(self) -> bool:
        return bool(self._id and self._secret)

    async def load(self, link: str) -> LoadResult:
        """The track, album or playlist a Spotify link names."""
        if not self.configured:
            raise SourceError(NO_CREDENTIALS)
        kind, ident = parse_link(link)
        if kind == "track":
            return TrackLoaded(track_from_api(await self._get(f"{self._api}/tracks/{ident}")))
        if kind == "album":
            album = await self._get(f"{self._api}/albums/{ident}")
            tracks, total = await self._collect(album.get("tracks") or {}, lambda item: item, album)
            return self._playlist(str(album.get("name") or "Album"), tracks, total)
        playlist = await self._get(f"{self._api}/playlists/{ident}")
        tracks, total = await self._collect(
            playlist.get("tracks") or {}, lambda item: item.get("track"), None
        )
        return self._playlist(str(playlist.get("name") or "Playlist"), tracks, total)

    def _playlist(self, name: str, tracks: list[Track], total: int) -> PlaylistLoaded:
        if not tracks:
            raise SourceError("That Spotify list has no playable tracks.")
        truncated = total if total > len(tracks) and len(tracks) >= self._limit else None
        return PlaylistLoaded(name, tuple(tracks), truncated)

    async def _collect(
        self, page: dict[str, Any], pick: Any, album: dict[str, Any] | None
    ) -> tuple[list[Track], int]:
        """Follow a paging object's `next` links until the cap."""
        tracks: list[Track] = []
        total = int(page.get("total") or 0)
        while True:
            for item in page.get("items") or []:
                found = pick(item)
                if found and found.get("type", "track") == "track" and found.get("name"):
                    tracks.append(track_from_api(found, album))
                if len(tracks) >= self._limit:
                    return tracks, max(total, len(tracks))
            following = page.get("next")
            if not following:
                return tracks, max(total, len(tracks))
            if not str(following).startswith(self._api + "/"):
                log.warning("spotify: ignoring a next link outside the API: %s", following)
                return tracks, max(total, len(tracks))
            page = await self._get(str(following))

    async def _get(self, url: str, *, retry: bool = True) -> dict[str, Any]:
        token = await self._app_token()
        try:
            response = await self._client().get(url, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError:
            raise SourceError("Couldn't reach Spotify.") from None
        if response.status_code == 401 and retry:
            self._token = None
            return await self._get(url, retry=False)
        if response.status_code in (400, 404):
            raise SourceError("Spotify doesn't know that link (it may be private or deleted).")
        if response.status_code == 429:
            raise SourceError("Spotify is rate-limiting the bot; try again in a minute.")
        if response.status_code >= 400:
            raise SourceError(f"Spotify answered with an error ({response.status_code}).")
        data: dict[str, Any] = response.json()
        return data

    async def _app_token(self) -> str:
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        assert self._id and self._secret
        try:
            response = await self._client().post(
                f"{self._accounts}/api/token",
                data={"grant_type": "client_credentials"},
                auth=(self._id, self._secret),
            )
        except httpx.HTTPError:
            raise SourceError("Couldn't reach Spotify.") from None
        if response.status_code in (400, 401):
            raise SourceError("Spotify refused the bot's credentials (check SPOTIFY_CLIENT_ID and SECRET).")
        if response.status_code >= 400:
            raise SourceError(f"Spotify answered with an error ({response.status_code}).")
        body = response.json()
        self._token = str(body["access_token"])
        self._token_expires = time.monotonic() + float(body.get("expires_in", 3600)) - TOKEN_MARGIN_SECONDS
        return self._token

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self._timeout)
        return self._http

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None
