"""The dashboard's Prometheus metrics: requests by route template and status, latency, SSE clients, the bus.

Routes are labelled by their template ("/api/servers/{guild_id}/queue"), never the raw path, so
the number of series stays fixed whatever URLs clients try; a path no route matches is "unmatched".
A Server-Sent Events response is timed to its first byte (the stream itself may stay open for hours).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zilean.db.bus import Bus
from zilean.db.bus.records import TRANSIENT_ERRORS
from zilean.observability.bus import BusGauges
from zilean.observability.registry import new_registry
from zilean.web.live import LiveStreams

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
HTTP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class WebMetrics:
    """One dashboard app's registry: the HTTP metrics (fed by HttpMetrics) and the scrape-time gauges."""

    def __init__(self, bus: Bus, streams: LiveStreams, stale_after_s: float) -> None:
        self.registry: CollectorRegistry = new_registry()
        self.requests = Counter(
            "zilean_http_requests",
            "Dashboard requests by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "zilean_http_request_duration_seconds",
            "Dashboard response time by method and route template (SSE: to the first byte)",
            ["method", "route"],
            buckets=HTTP_BUCKETS_S,
            registry=self.registry,
        )
        self._bus = bus
        self._stale = timedelta(seconds=stale_after_s)
        self._bots_live: int | None = None
        self.bus_gauges = BusGauges(bus.commands)
        self.registry.register(self.bus_gauges)
        self.registry.register(_WebCollector(self, streams))

    async def refresh(self) -> None:
        """Before a scrape: the numbers that need the database."""
        await self.bus_gauges.refresh()
        try:
            self._bots_live = len(await self._bus.heartbeats.live(self._stale))
        except TRANSIENT_ERRORS:
            self._bots_live = None

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one response."""
        method = method if method in METHODS else "other"
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


class _WebCollector(Collector):
    def __init__(self, metrics: WebMetrics, streams: LiveStreams) -> None:
        self._metrics = metrics
        self._streams = streams

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "zilean_sse_clients",
            "Live (Server-Sent Events) streams open on this process",
            value=self._streams.open_count,
        )
        if self._metrics._bots_live is not None:
            yield GaugeMetricFamily(
                "zilean_bots_live", "Bot processes with a fresh heartbeat", value=self._metrics._bots_live
            )


def route_of(scope: Scope) -> str:
    """The matched route's template (a mount's prefix), or UNMATCHED."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetrics:
    """Pure ASGI middleware timing every HTTP response into WebMetrics (streaming responses too)."""

    def __init__(self, app: ASGIApp, *, metrics: WebMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        recorded = False

        def record() -> None:
            nonlocal recorded
            if not recorded:
                recorded = True
                self.metrics.observe(scope["method"], route_of(scope), status, time.perf_counter() - started)

        async def send_timed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = dict(message.get("headers") or [])
                if headers.get(b"content-type", b"").startswith(b"text/event-stream"):
                    record()
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                record()

        try:
            await self.app(scope, receive, send_timed)
        finally:
            record()  # an exception, or a client gone before the body ended
