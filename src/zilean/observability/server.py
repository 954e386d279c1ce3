"""The bot process's HTTP endpoint (METRICS_PORT): /metrics, /healthz and /readyz, on its event loop.

It runs on the bot's own loop (aiohttp, which discord.py brings): a loop too blocked to answer
/healthz is a bot that is not alive. /healthz and /readyz reveal nothing and are open; /metrics
follows MetricsAccess.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from zilean.core.errors import ConfigError
from zilean.observability.access import MetricsAccess
from zilean.observability.registry import CONTENT_TYPE, render

log = logging.getLogger(__name__)

# What /readyz asks: (ready?, the checks by name for the JSON body).
ReadyCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]
Refresh = Callable[[], Awaitable[None]]
REFUSED = "metrics are served only to METRICS_ALLOW_IPS or with the METRICS_TOKEN bearer\n"


class MetricsServer:
    """Serves a registry and the health checks on host:port (port 0: a free one, see `.port`)."""

    def __init__(
        self,
        registry: CollectorRegistry,
        access: MetricsAccess,
        ready: ReadyCheck,
        *,
        refresh: Refresh | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.registry = registry
        self.access = access
        self.host = host
        self.port = port
        self._ready = ready
        self._refresh = refresh
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen; a port in use is a ConfigError naming METRICS_PORT."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(
                f"the metrics endpoint cannot listen on {self.host}:{self.port}: {exc.strerror} "
                "(set METRICS_HOST / METRICS_PORT)"
            ) from None
        self._runner = runner
        if runner.addresses:
            self.port = int(runner.addresses[0][1])
        log.info("metrics, /healthz and /readyz on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """Where it listens."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def _metrics(self, request: web.Request) -> web.Response:
        if not self.access.allows(request.remote, request.headers.get("Authorization")):
            return web.Response(status=403, text=REFUSED)
        if self._refresh is not None:
            await self._refresh()
        return web.Response(body=render(self.registry), headers={"Content-Type": CONTENT_TYPE})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def _readyz(self, request: web.Request) -> web.Response:
        ready, checks = await self._ready()
        return web.Response(
            status=200 if ready else 503,
            text=json.dumps({"ready": ready, **checks}),
            content_type="application/json",
        )
