"""The deploy's nginx site (deploy/nginx/groovy-zilean.conf, TLS taken out) in front of a real dashboard:
live events pass at once through the SSE location, and the browser's address reaches the rate limits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from web_helpers import SseReader, log_in, seat, web_settings

from zilean.db import Database
from zilean.db.bus import Bus
from zilean.db.records import PlayerState
from zilean.web.app import create_app
from zilean.web.context import STATIC_DIR
from zilean.web.server import DashboardServer

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
GUILD, ME = 4_194_304_000, 111


def site_for_test(upstream_port: int, listen_port: int) -> str:
    """The deploy's site with plain http on `listen_port` and the upstream on `upstream_port`."""
    site = (ROOT / "deploy/nginx/groovy-zilean.conf").read_text()
    site = re.sub(r"server \{\s*listen 80;.*?\n\}\n", "", site, count=1, flags=re.S)  # the https redirect
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{listen_port};")
    site = re.sub(r"\s*ssl_certificate(_key)? [^;]+;", "", site)
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{upstream_port};")
    return re.sub(r"alias [^;]+;", f"alias {STATIC_DIR}/;", site)


@pytest.fixture
def nginx_available() -> None:
    if not os.path.exists(NGINX):
        if os.environ.get("CI") or os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("nginx is not installed (.ci/run installs nginx-light)")
        pytest.skip("nginx is not installed")


@pytest.fixture
async def dashboard(
    database: Database, web_bus: Bus, db_url: str, tmp_path: Path
) -> AsyncIterator[DashboardServer]:
    settings = web_settings(db_url, tmp_path, rate_limit_logins_per_min=2)
    app = create_app(settings, database, web_bus)
    server = DashboardServer(app, settings, host="127.0.0.1", port=0)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.02)
    assert server.started
    try:
        yield server
    finally:
        server.stop()
        await task


@pytest.fixture
async def nginx(nginx_available: None, dashboard: DashboardServer, tmp_path: Path) -> AsyncIterator[str]:
    """nginx running the deploy's site in front of the dashboard; yields its base URL."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    prefix = tmp_path / "nginx"
    (prefix / "logs").mkdir(parents=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = prefix / "nginx.conf"
    temps = "".join(
        f" {kind}_temp_path {prefix}/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf.write_text(
        f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\nerror_log {prefix}/logs/error.log warn;\n"
        "events { worker_connections 256; }\n"
        f"http {{\n access_log off;\n{temps}{site_for_test(dashboard.port, port)}\n}}\n"
    )
    check = await asyncio.create_subprocess_exec(
        NGINX, "-t", "-p", str(prefix), "-c", str(conf), stderr=asyncio.subprocess.PIPE
    )
    _, errors = await check.communicate()
    assert check.returncode == 0, errors.decode()
    proc = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"
    )
    try:
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=5) as probe_client:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await probe_client.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("nginx did not pass /healthz to the dashboard")
        yield base
    finally:
        proc.terminate()
        async with asyncio.timeout(10):
            await proc.wait()


async def test_events_pass_through_nginx_at_once(
    nginx: str, dashboard: DashboardServer, database: Database, web_bus: Bus
) -> None:
    await seat(database, GUILD, ME)
    async with httpx.AsyncClient(base_url=nginx, timeout=30) as browser:
        await log_in(dashboard.app, browser, ME)
        async with browser.stream("GET", f"/api/servers/{GUILD}/events") as response:
            assert response.status_code == 200
            reader = SseReader(response)
            for n in range(3):  # each one arrives before the next is sent: nothing waits in a buffer
                event_id = await web_bus.events.publish_player(PlayerState(guild_id=GUILD, position_ms=n))
                event, got_id, _ = await reader.next()
                assert (event, got_id) == ("player", str(event_id))


async def test_the_limits_see_the_browsers_address_not_nginxs(nginx: str) -> None:
    async with httpx.AsyncClient(base_url=nginx, timeout=30) as browser:
        codes = [(await browser.get("/login")).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    # the same three logins "from" another address are counted apart (X-Forwarded-For from nginx)
    async with httpx.AsyncClient(base_url=nginx, timeout=30) as other:
        other.headers["X-Forwarded-For"] = "203.0.113.9"  # ignored: nginx sets it from $remote_addr
        assert (await other.get("/login")).status_code == 429


async def test_the_public_site_serves_no_metrics_while_the_dashboard_does_on_loopback(
    nginx: str, dashboard: DashboardServer
) -> None:
    async with httpx.AsyncClient(base_url=nginx, timeout=30) as browser:
        assert (await browser.get("/metrics")).status_code == 404
        assert (await browser.get("/readyz")).status_code == 200
    async with httpx.AsyncClient(base_url=dashboard.url, timeout=30) as prometheus:
        scraped = await prometheus.get("/metrics")
        assert scraped.status_code == 200 and "zilean_http_requests_total" in scraped.text
