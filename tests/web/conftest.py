"""Dashboard fixtures: the app on the `database` fixture (both backends) and an in-process client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from web_helpers import client_for, web_settings

from zilean.db import Database
from zilean.db.bus import Bus, BusOptions
from zilean.web.app import create_app


@pytest.fixture
async def web_bus(database: Database) -> AsyncIterator[Bus]:
    """A started Bus for the dashboard."""
    bus = Bus(database, BusOptions(poll_interval_s=0.02))
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


@pytest.fixture
async def app(database: Database, web_bus: Bus, db_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The dashboard app (its lifespan running)."""
    application = create_app(web_settings(db_url, tmp_path), database, web_bus)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for the app."""
    async with client_for(app) as http:
        yield http
