"""Health and metrics, for nginx, systemd, a load balancer and Prometheus; no session, no CSRF.

GET /healthz   the process answers (never touches the database)
GET /readyz    the database answers: 200, else 503 (bots' heartbeats are reported, not required:
               a dashboard without a bot still serves pages and says the bot is offline)
GET /metrics   Prometheus text, only for METRICS_ALLOW_IPS or the METRICS_TOKEN bearer (403 else)
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from zilean.db.bus.records import TRANSIENT_ERRORS
from zilean.observability.access import MetricsAccess
from zilean.observability.registry import CONTENT_TYPE, render
from zilean.web.deps import Ctx
from zilean.web.metrics import WebMetrics

router = APIRouter(include_in_schema=False)

READY_QUERY_TIMEOUT_S = 2.0


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@router.get("/readyz")
async def readyz(ctx: Ctx) -> JSONResponse:
    body: dict[str, Any] = {"ready": False, "database": False}
    try:
        async with asyncio.timeout(READY_QUERY_TIMEOUT_S):
            stale = timedelta(seconds=ctx.bus.options.timing.stale_after_s)
            body["bots_live"] = len(await ctx.bus.heartbeats.live(stale))
    except (*TRANSIENT_ERRORS, TimeoutError):
        return JSONResponse(body, status_code=503)
    body["ready"] = body["database"] = True
    return JSONResponse(body)


@router.get("/metrics")
async def metrics(request: Request, ctx: Ctx) -> Response:
    settings = ctx.settings
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    access = MetricsAccess.build(settings.metrics_allow_ips, token)
    client = request.client.host if request.client else None
    if not access.allows(client, request.headers.get("authorization")):
        return PlainTextResponse(
            "metrics are served only to METRICS_ALLOW_IPS or with the METRICS_TOKEN bearer\n", status_code=403
        )
    web_metrics: WebMetrics = request.app.state.metrics
    await web_metrics.refresh()
    return Response(render(web_metrics.registry), media_type=CONTENT_TYPE)
