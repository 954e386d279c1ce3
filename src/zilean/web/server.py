"""Serving the dashboard with uvicorn inside a process that owns its own signals (zilean web / run).

uvicorn's Server.serve() would take over SIGINT/SIGTERM; here the process decides when to stop
(`stop()`), which also ends every open SSE stream so the shutdown does not wait for browsers.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from zilean.config import Settings
from zilean.core.errors import ConfigError

log = logging.getLogger(__name__)

GRACEFUL_S = 5


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """The owning process handles signals and calls DashboardServer.stop()."""
        yield


class DashboardServer:
    """uvicorn serving the app on a socket bound up front (a busy port is a clear error, not a log line)."""

    def __init__(
        self,
        app: FastAPI,
        settings: Settings,
        *,
        host: str | None = None,
        port: int | None = None,
        sock: socket.socket | None = None,
    ) -> None:
        self.app = app
        self.host = host or settings.web_host
        self.socket = sock or bind(self.host, settings.web_port if port is None else port)
        self.port = int(self.socket.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_config=None,  # zilean.logs set up logging already
            proxy_headers=True,
            forwarded_allow_ips=settings.web_forwarded_allow_ips,
            timeout_graceful_shutdown=GRACEFUL_S,
            server_header=False,
            access_log=False,  # nginx (or the console) logs requests; each line costs the hot path
            lifespan="on",
        )
        self.server = _Server(config)

    @property
    def url(self) -> str:
        """Where this server listens (not WEB_BASE_URL, which is what browsers are told)."""
        return f"http://{self.host}:{self.port}"

    @property
    def started(self) -> bool:
        """True once uvicorn accepts connections."""
        return bool(self.server.started)

    async def serve(self) -> None:
        """Serve until stop()."""
        try:
            await self.server.serve(sockets=[self.socket])
        finally:
            self.socket.close()

    def stop(self) -> None:
        """Close the live streams and let uvicorn finish."""
        self.app.state.web.streams.close_all()
        self.server.should_exit = True


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (port 0: a free one), or a ConfigError saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"the dashboard cannot listen on {host}:{port}: {exc.strerror} (set WEB_HOST / WEB_PORT)"
        ) from None
    sock.set_inheritable(True)
    return sock
