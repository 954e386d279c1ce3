"""A local fake of the Spotify Web API, following Spotify's documented shapes.

Endpoints: POST /api/token (client credentials, Basic auth), GET /v1/tracks/{id},
GET /v1/albums/{id} (+ /tracks paging), GET /v1/playlists/{id} (+ /tracks paging with `next`).
Errors use Spotify's shapes: token endpoint `{"error", "error_description"}`, API
`{"error": {"status", "message"}}`. Every request is recorded in `requests`.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class FakeSpotify:
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    album_page_size: int = 50  # Spotify's album object embeds at most 50 tracks
    playlist_page_size: int = 100  # and a playlist object at most 100
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    albums: dict[str, dict[str, Any]] = field(default_factory=dict)
    playlists: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    origin: str = ""

    @property
    def api_base(self) -> str:
        return self.origin + "/v1"

    @property
    def accounts_base(self) -> str:
        return self.origin

    def add_track(
        self, ident: str, name: str, artists: list[str], duration_ms: int, album: str = "Single"
    ) -> None:
        self.tracks[ident] = {
            "id": ident,
            "name": name,
            "artists": [{"id": f"ar{i}", "name": a, "type": "artist", "uri": f"spotify:artist:ar{i}"}
                        for i, a in enumerate(artists)],
            "duration_ms": duration_ms,
            "explicit": False,
            "is_local": False,
            "type": "track",
            "uri": f"spotify:track:{ident}",
            "href": f"{self.api_base}/tracks/{ident}",
            "external_urls": {"spotify": f"https://open.spotify.com/track/{ident}"},
            "album": {"id": "al-" + ident, "name": album, "album_type": "single",
                      "images": [{"url": f"https://i.scdn.co/image/{ident}", "height": 640, "width": 640}]},
        }  # fmt: skip

    def add_album(self, ident: str, name: str, track_ids: list[str]) -> None:
        self.albums[ident] = {"name": name, "track_ids": track_ids}

    def add_playlist(self, ident: str, name: str, track_ids: list[str | None]) -> None:
        self.playlists[ident] = {"name": name, "track_ids": track_ids}

    # -- response bodies ---------------------------------------------------------------------

    def _simplified(self, ident: str) -> dict[str, Any]:
        return {k: v for k, v in self.tracks[ident].items() if k != "album"}

    def _paging(self, href: str, items: list[Any], offset: int, limit: int) -> dict[str, Any]:
        page = items[offset : offset + limit]
        following = offset + limit
        return {
            "href": f"{href}?offset={offset}&limit={limit}",
            "items": page,
            "limit": limit,
            "offset": offset,
            "total": len(items),
            "next": f"{href}?offset={following}&limit={limit}" if following < len(items) else None,
            "previous": f"{href}?offset={max(0, offset - limit)}&limit={limit}" if offset else None,
        }

    def _album_items(self, ident: str) -> list[Any]:
        return [self._simplified(t) for t in self.albums[ident]["track_ids"]]

    def _playlist_items(self, ident: str) -> list[Any]:
        ids = self.playlists[ident]["track_ids"]
        added = "2024-01-01T00:00:00Z"
        return [{"added_at": added, "is_local": False, "track": self.tracks[t] if t else None} for t in ids]

    def answer(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, Any]:
        self.requests.append(f"{method} {path}")
        if method == "POST" and path == "/api/token":
            return self._token(headers, body)
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.tokens:
            return 401, {"error": {"status": 401, "message": "Invalid access token"}}
        offset = int(query.get("offset", ["0"])[0])
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[0] == "v1":
            kind, ident, rest = parts[1], parts[2], parts[3:]
            if kind == "tracks" and ident in self.tracks and not rest:
                return 200, self.tracks[ident]
            if kind == "albums" and ident in self.albums:
                href = f"{self.api_base}/albums/{ident}/tracks"
                limit = int(query.get("limit", [str(self.album_page_size)])[0])
                paging = self._paging(href, self._album_items(ident), offset, limit)
                if rest == ["tracks"]:
                    return 200, paging
                if not rest:
                    image = {"url": f"https://i.scdn.co/image/{ident}", "height": 640, "width": 640}
                    name = self.albums[ident]["name"]
                    return 200, {
                        "id": ident,
                        "name": name,
                        "type": "album",
                        "images": [image],
                        "tracks": paging,
                    }
            if kind == "playlists" and ident in self.playlists:
                href = f"{self.api_base}/playlists/{ident}/tracks"
                limit = int(query.get("limit", [str(self.playlist_page_size)])[0])
                paging = self._paging(href, self._playlist_items(ident), offset, limit)
                if rest == ["tracks"]:
                    return 200, paging
                if not rest:
                    return 200, {"id": ident, "name": self.playlists[ident]["name"], "type": "playlist",
                                 "tracks": paging}  # fmt: skip
        return 404, {"error": {"status": 404, "message": "Resource not found"}}

    def _token(self, headers: Any, body: bytes) -> tuple[int, Any]:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        form = parse_qs(body.decode())
        if form.get("grant_type") != ["client_credentials"]:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            }
        if headers.get("Authorization", "") != f"Basic {expected}":
            return 400, {"error": "invalid_client", "error_description": "Invalid client"}
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}


@contextmanager
def running(fake: FakeSpotify) -> Iterator[FakeSpotify]:
    """Serve the fake on 127.0.0.1 (a random port) for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _reply(self, method: str) -> None:
            parts = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = fake.answer(method, parts.path, parse_qs(parts.query), self.headers, body)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self._reply("GET")

        def do_POST(self) -> None:
            self._reply("POST")

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    fake.origin = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
