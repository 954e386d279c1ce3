"""create_app(settings, db, bus) → the dashboard's FastAPI app. No module-level app or settings.

The caller owns the Database and the Bus (opens, starts and closes them): `zilean web` starts the
bus with maintain=True; `zilean run` shares the bot's. The app adds its own housekeeping task
(expired sessions and logins) for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from zilean.config import Settings
from zilean.db import Database
from zilean.db.bus import Bus
from zilean.db.bus.records import TRANSIENT_ERRORS, describe
from zilean.db.tasks import cancel_and_wait
from zilean.web.context import STATIC_DIR, WebContext
from zilean.web.csrf import csrf_guard
from zilean.web.errors import install_error_handlers
from zilean.web.manage import api as manage_api
from zilean.web.manage.pages import manage_router
from zilean.web.metrics import HttpMetrics, WebMetrics
from zilean.web.middleware import SecurityHeaders
from zilean.web.pages.lyrics import lyrics_router
from zilean.web.pages.routes import page_router
from zilean.web.routes import api, auth, docs, events, health, me

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 3600.0


def create_app(settings: Settings, db: Database, bus: Bus) -> FastAPI:
    """The dashboard app on this database and bus."""
    context = WebContext.build(settings, db, bus)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_housekeeping(context), name="zilean-web-housekeeping")
        try:
            yield
        finally:
            await cancel_and_wait(task)
            await context.aclose()

    app = FastAPI(
        title="Groovy Zilean dashboard",
        summary="Control the music bot from the web: the JSON API behind the dashboard.",
        version="1",
        docs_url=None,  # served by routes/docs.py with a CSP that fits
        redoc_url=None,
        lifespan=lifespan,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.web = context
    app.state.metrics = WebMetrics(bus, context.streams, bus.options.timing.stale_after_s)  # GET /metrics
    app.add_middleware(SecurityHeaders, https=context.https)
    app.add_middleware(HttpMetrics, metrics=app.state.metrics)  # outermost: times the headers too
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.include_router(auth.router)
    app.include_router(api.router)
    app.include_router(me.router)
    app.include_router(events.router)
    app.include_router(docs.router)
    app.include_router(health.router)
    app.include_router(page_router())
    app.include_router(lyrics_router())
    app.include_router(manage_api.router)  # the server managers' API and pages (web/manage)
    app.include_router(manage_router())
    install_error_handlers(app)
    return app


async def _housekeeping(context: WebContext) -> None:
    while True:
        try:
            await context.db.web_sessions.delete_expired()
            await context.db.login_states.delete_expired()
        except TRANSIENT_ERRORS as exc:
            log.warning("dashboard housekeeping failed: %s", describe(exc))
        await asyncio.sleep(HOUSEKEEPING_S)
