"""The real egress proxy on a background event loop, for synchronous tests that run ffmpeg over HTTP;
and `handler_server`, a loopback server for a test's own BaseHTTPRequestHandler (a misbehaving site)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from zilean.core.media import MediaInput
from zilean.core.sources.egress import EgressProxy
from zilean.core.sources.netguard import NetGuard

T = TypeVar("T")


class ProxyThread:
    """An EgressProxy (with its guard trusting `trusted`) serving from its own thread's loop."""

    def __init__(self, trusted: list[str]) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="egress-test-loop", daemon=True)
        self._thread.start()
        self.guard = NetGuard(trusted)
        self.client = self.guard.client()
        self.proxy = EgressProxy(self.guard, self.client)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def media(self, url: str, headers: dict[str, str] | None = None) -> MediaInput:
        """What the resolver hands the player for a checked URL: a ticket of the proxy."""
        return self.run(self.proxy.media_input(url, headers))

    def close(self) -> None:
        self.run(self.proxy.close())
        self.run(self.client.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()


@contextmanager
def egress_proxy(*trusted: str) -> Iterator[ProxyThread]:
    """A running egress proxy whose guard trusts the given origins."""
    proxy = ProxyThread(list(trusted))
    try:
        yield proxy
    finally:
        proxy.close()


@contextmanager
def handler_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free port of 127.0.0.1 from a thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
