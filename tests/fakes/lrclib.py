"""A local fake of lrclib.net's read API, following its documented shapes (https://lrclib.net/docs).

GET /api/get?track_name=&artist_name=[&album_name=][&duration=] matches a signature (names without
regard to case, duration within 2 s) or answers 404 `{"code", "name": "TrackNotFound", "message"}`;
missing names answer 400. GET /api/get/{id}. GET /api/search?q= (or track_name=) answers a list of
records whose title, artist and album hold every word. `status` makes every answer that error,
`hang` holds every request unanswered until the server stops, `drop` closes the connection
unanswered. Every request is kept in `requests`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

NOT_FOUND = {"code": 404, "name": "TrackNotFound", "message": "Failed to find specified track"}


def record(
    ident: int,
    track: str,
    artist: str,
    *,
    album: str = "",
    duration: float = 180.0,
    plain: str | None = None,
    synced: str | None = None,
    instrumental: bool = False,
) -> dict[str, Any]:
    """One lrclib lyrics record, as its API returns it."""
    return {
        "id": ident,
        "name": track,
        "trackName": track,
        "artistName": artist,
        "albumName": album,
        "duration": duration,
        "instrumental": instrumental,
        "plainLyrics": plain,
        "syncedLyrics": synced,
    }


@dataclass
class Request:
    path: str
    query: dict[str, str]
    user_agent: str


@dataclass
class FakeLrclib:
    records: list[dict[str, Any]] = field(default_factory=list)
    status: int | None = None  # answer every request with this error status
    hang: bool = False  # never answer (until the server stops)
    drop: bool = False  # close the connection without an answer (a broken or vanished service)
    requests: list[Request] = field(default_factory=list)
    base_url: str = ""
    released: threading.Event = field(default_factory=threading.Event)

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if self.status is not None:
            return self.status, {"code": self.status, "name": "ServerError", "message": "Something broke"}
        if path == "/api/get":
            track, artist = query.get("track_name", ""), query.get("artist_name", "")
            if not track or not artist:
                return 400, {
                    "code": 400,
                    "name": "QueryError",
                    "message": "track_name and artist_name required",
                }
            for item in self.records:
                if self._matches(item, track, artist, query.get("album_name"), query.get("duration")):
                    return 200, item
            return 404, NOT_FOUND
        if path.startswith("/api/get/"):
            ident = path.rsplit("/", 1)[-1]
            found = [item for item in self.records if str(item["id"]) == ident]
            return (200, found[0]) if found else (404, NOT_FOUND)
        if path == "/api/search":
            words = (query.get("q") or query.get("track_name") or "").casefold().split()
            if not words:
                return 400, {"code": 400, "name": "QueryError", "message": "q or track_name required"}
            hits = [
                item
                for item in self.records
                if all(
                    w in f"{item['trackName']} {item['artistName']} {item['albumName']}".casefold()
                    for w in words
                )
            ]
            return 200, hits
        return 404, {"code": 404, "name": "NotFound", "message": "Not found"}

    @staticmethod
    def _matches(
        item: dict[str, Any], track: str, artist: str, album: str | None, duration: str | None
    ) -> bool:
        if (
            item["trackName"].casefold() != track.casefold()
            or item["artistName"].casefold() != artist.casefold()
        ):
            return False
        if album and item["albumName"].casefold() != album.casefold():
            return False
        return not duration or abs(float(duration) - item["duration"]) <= 2

    def paths(self) -> list[str]:
        """The paths asked for, in order."""
        return [request.path for request in self.requests]


@contextmanager
def running(fake: FakeLrclib) -> Iterator[FakeLrclib]:
    """Serve the fake on 127.0.0.1 (a random port) for the duration of the block."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            fake.requests.append(Request(parts.path, query, self.headers.get("User-Agent", "")))
            if fake.hang:
                fake.released.wait()
                return
            if fake.drop:
                self.close_connection = True
                self.connection.shutdown(2)  # socket.SHUT_RDWR: nothing is answered
                return
            status, payload = fake.answer(parts.path, query)
            raw = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # a client that gave up (timeouts) is expected here

    httpd = Server(("127.0.0.1", 0), Handler)
    fake.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.released.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


@contextmanager
def refusing_port() -> Iterator[str]:
    """A base URL where nothing listens (connection refused): a port bound but never listening."""
    import socket

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()
