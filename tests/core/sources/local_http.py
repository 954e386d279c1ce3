"""A local HTTP server on 127.0.0.1 that records every hit (for the SSRF and source tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordingServer:
    """An HTTP server on 127.0.0.1 serving `routes`; `hits` lists every path requested."""

    routes: dict[str, Route | Callable[[], Route]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def add(
        self,
        path: str,
        body: bytes | str,
        content_type: str = "application/octet-stream",
        status: int = 200,
        **headers: str,
    ) -> str:
        raw = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(status, raw, {"Content-Type": content_type, **headers})
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = Route(status, b"", {"Location": location})
        return self.url(path)


def _handler(server: RecordingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def _serve(self, send_body: bool) -> None:
            server.hits.append(self.path)
            found = server.routes.get(unquote(self.path.split("?", 1)[0]))
            route = found() if callable(found) else found
            if route is None:
                route = Route(404, b"not found", {"Content-Type": "text/plain"})
            body, status = route.body, route.status
            headers = dict(route.headers)
            wanted = self.headers.get("Range", "")
            if status == 200 and wanted.startswith("bytes=") and body:
                first, _, last = wanted[6:].partition("-")
                start = int(first or 0)
                end = min(int(last), len(body) - 1) if last else len(body) - 1
                if start < len(body):
                    headers["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
                    body, status = body[start : end + 1], 206
            headers.setdefault("Accept-Ranges", "bytes")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body:
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

    return Handler


def serve() -> Iterator[RecordingServer]:
    server = RecordingServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
