"""The dashboard's /metrics, /readyz and /healthz: over real HTTP (uvicorn), parsed with prometheus_client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from web_helpers import client_for, log_in, seat, web_settings

from metrics_text import Samples, parse, value
from polling import until, until_value
from zilean.db import Database
from zilean.db.bus import Bus
from zilean.db.engine import create_engine
from zilean.observability import names
from zilean.web.app import create_app
from zilean.web.server import DashboardServer

GUILD, ME = 4_194_304_000, 111
TOKEN = "s3cret-metrics-token-for-the-test"


@pytest.fixture
async def served(database: Database, web_bus: Bus, db_url: str, tmp_path: Path) -> AsyncIterator[FastAPI]:
    """The app served by uvicorn on 127.0.0.1 and a free port (app.state.url), with a METRICS_TOKEN."""
    settings = web_settings(db_url, tmp_path).model_copy(update={"metrics_token": SecretStr(TOKEN)})
    app = create_app(settings, database, web_bus)
    server = DashboardServer(app, settings, host="127.0.0.1", port=0)
    task = asyncio.create_task(server.serve())
    try:
        await until(lambda: server.started or task.done(), what="uvicorn starting")
        assert server.started, "uvicorn did not start"
        app.state.url = server.url
        yield app
    finally:
        server.stop()
        await task


@pytest.fixture
async def http(served: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=served.state.url, timeout=30) as client:
        yield client


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    return parse(response.text)[0]


async def test_requests_are_counted_by_route_template_and_status(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get(f"/api/servers/{GUILD}/queue")).status_code == 401  # not logged in
    assert (await http.get("/api/servers/987654321/queue")).status_code == 401
    assert (await http.get("/no/such/page/42")).status_code == 404
    samples = await scrape(http)

    queue = {"method": "GET", "route": "/api/servers/{guild_id}/queue"}
    assert value(samples, "zilean_http_requests_total", **queue, status="401") == 2
    assert value(samples, "zilean_http_requests_total", method="GET", route="/healthz", status="200") == 1
    assert value(samples, "zilean_http_requests_total", method="GET", route="unmatched", status="404") == 1
    assert value(samples, "zilean_http_request_duration_seconds_count", **queue) == 2
    routes = {dict(labels).get("route") for (_, labels) in samples if dict(labels).get("route")}
    assert not any(str(GUILD) in route or "42" in route for route in routes), routes  # no raw paths


async def test_sse_clients_bus_gauges_and_every_family_is_named(
    served: FastAPI, http: httpx.AsyncClient, database: Database, web_bus: Bus
) -> None:
    await seat(database, GUILD, ME)
    async with httpx.AsyncClient(base_url=served.state.url, timeout=30) as browser:
        await log_in(served, browser, ME)
        await web_bus.submit(GUILD, "pause", user_id=ME)  # no bot: it waits on the bus
        assert value(await scrape(http), "zilean_sse_clients") == 0
        async with browser.stream("GET", f"/api/servers/{GUILD}/events") as response:
            assert response.status_code == 200
            samples = await until_value(
                lambda: scrape(http),
                lambda s: value(s, "zilean_sse_clients") == 1,
                what="the open stream counted",
            )
    assert value(samples, "zilean_bus_pending_commands") == 1
    assert value(samples, "zilean_bus_oldest_pending_seconds") >= 0
    assert value(samples, "zilean_bots_live") == 0
    events = {"method": "GET", "route": "/api/servers/{guild_id}/events"}
    assert value(samples, "zilean_http_requests_total", **events, status="200") == 1  # counted at its start

    _, families = parse((await http.get("/metrics")).text)
    ours = {name for name in families if name.startswith("zilean_") and not name.endswith("_created")}
    assert ours == names.WEB


async def test_metrics_only_for_allowed_addresses_or_the_bearer_token(served: FastAPI) -> None:
    outsider = httpx.ASGITransport(app=served, client=("203.0.113.9", 40000))
    async with httpx.AsyncClient(transport=outsider, base_url="http://dashboard.test") as remote:
        assert (await remote.get("/metrics")).status_code == 403
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 403
        right = await remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert right.status_code == 200 and "zilean_http_requests_total" in right.text
        assert (await remote.get("/healthz")).status_code == 200  # health stays open
    async with client_for(served) as local:  # 127.0.0.1: METRICS_ALLOW_IPS' default
        assert (await local.get("/metrics")).status_code == 200


async def test_readyz_answers_200_with_the_database(http: httpx.AsyncClient) -> None:
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "database": True, "bots_live": 0}


async def test_readyz_is_503_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    # A folder that does not exist: SQLite cannot open the file, as if the disk were gone.
    url = f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'zilean.db'}"
    engine = create_engine(url)
    database = Database(engine)
    bus = Bus(database)
    app = create_app(web_settings(url, tmp_path), database, bus)
    try:
        async with app.router.lifespan_context(app), client_for(app) as client:
            gone = await client.get("/readyz")
            assert gone.status_code == 503
            assert gone.json() == {"ready": False, "database": False}
            assert (await client.get("/healthz")).status_code == 200
            scraped = await client.get("/metrics")  # still answers, without the gauges it cannot read
            assert scraped.status_code == 200 and "zilean_bus_pending_commands" not in scraped.text
    finally:
        await engine.dispose()
