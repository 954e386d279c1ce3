"""GET /guilds/{id} (the player page) with a 10,000-entry queue: request time and HTML size (issue #13).

One `zilean web` process (its own process, as in production) on SQLite and on PostgreSQL, a guild
with a playing track and 10,000 queued entries, requests one after another over a keep-alive
connection, timed at the client on loopback from send to the last byte. In the same run: GET
/healthz (the baseline: same server and client, no session, no database) and the fragment the page
loads when scrolled to the middle (/guilds/{id}/queue?offset=5000). A row is refused when a request
fails or the page does not show the queue as it should (50 rows and the total).

usage: .venv/bin/python bench/web_player_page.py [--requests 200] [--runs 3] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web import GUILD, beat_forever, open_seeded, pct, scratch_database, web_process
from zilean.core.track import Track
from zilean.web.pages.views import QUEUE_PAGE
from zilean.web.sessions import COOKIE_NAME

QUEUE = 10_000


async def timed(
    client: httpx.AsyncClient, path: str, count: int
) -> tuple[list[float], list[float], int, bytes]:
    """Client latencies and the page's own Server-Timing (ms) of `count` GETs; failures; the last body."""
    latencies: list[float] = []
    server: list[float] = []
    failures = 0
    body = b""
    for _ in range(count):
        start = time.perf_counter()
        response = await client.get(path)
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            failures += 1
            continue
        latencies.append(elapsed)
        found = re.search(r"page;dur=([\d.]+)", response.headers.get("server-timing", ""))
        if found:
            server.append(float(found.group(1)))
        body = response.content
    return latencies, server, failures, body


async def run_backend(backend: str, args: argparse.Namespace) -> list[str]:
    rows = []
    async with scratch_database(backend, args.pg) as url:
        db, bus, cookie = await open_seeded(url)
        await db.queue.clear(GUILD)
        tracks = [
            Track(f"Queued song number {i:05d}", f"https://example.com/{i}", "direct", 200_000)
            for i in range(QUEUE)
        ]
        await db.queue.append(GUILD, tracks)
        beats = asyncio.create_task(beat_forever(bus))
        try:
            with tempfile.TemporaryDirectory() as tmp, web_process(url, Path(tmp)) as web:
                async with httpx.AsyncClient(base_url=web.url, timeout=30) as client:
                    client.cookies.set(COOKIE_NAME, cookie)
                    page = (await client.get(f"/guilds/{GUILD}")).text
                    if page.count('class="qe"') != QUEUE_PAGE or f"{QUEUE} tracks" not in page:
                        raise RuntimeError(f"the player page does not show the queue: {page[:300]}")
                    paths = {
                        "baseline /healthz": "/healthz",
                        "player page": f"/guilds/{GUILD}",
                        "queue rows at 5000": f"/guilds/{GUILD}/queue?offset=5000",
                    }
                    for path in paths.values():
                        await timed(client, path, 20)  # warm up
                    for run in range(1, args.runs + 1):
                        for label, path in paths.items():
                            load_before = os.getloadavg()[0]
                            latencies, server, failed, body = await timed(client, path, args.requests)
                            if failed or not latencies:
                                rows.append(
                                    f"| {backend} | {label} | {run} | setup failed: {failed} errors |||||"
                                )
                                continue
                            cells = [
                                backend, label, run, len(latencies), f"{pct(latencies, 0.5):.1f}",
                                f"{pct(latencies, 0.99):.1f}", f"{max(latencies):.1f}",
                                f"{statistics.mean(latencies):.1f}",
                                f"{pct(server, 0.5):.1f} / {pct(server, 0.99):.1f}" if server else "",
                                f"{len(body):,}",
                                f"{len(gzip.compress(body)):,}", f"{load_before:.1f}",
                            ]  # fmt: skip
                            rows.append("| " + " | ".join(str(cell) for cell in cells) + " |")
                            print(rows[-1], flush=True)
        finally:
            beats.cancel()
            await bus.close()
            await db.close()
    return rows


def page_weight() -> str:
    static = Path(__file__).resolve().parents[1] / "src/zilean/web/static"
    files = ["app.css", "app.js", "vendor/htmx.min.js", "vendor/sse.min.js", "icons.svg"]
    sizes = {name: len(gzip.compress((static / name).read_bytes(), 9)) for name in files}
    parts = ", ".join(f"{name} {size / 1024:.1f} KB" for name, size in sizes.items())
    return f"page weight gzipped: {sum(sizes.values()) / 1024:.1f} KB ({parts})"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    print(page_weight())
    print(
        "| backend | endpoint | run | requests | p50 ms | p99 ms | max ms | mean ms "
        "| page's own time p50 / p99 ms | HTML bytes | gzip bytes | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for backend in args.backends.split(","):
        await run_backend(backend, args)


if __name__ == "__main__":
    asyncio.run(main())
