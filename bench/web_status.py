"""GET /api/servers/{id}/status under a steady 200 requests/s, against GET /healthz at the same rate.

One `zilean web` process (its own process, as in production) on SQLite and on PostgreSQL; the client
sends on a fixed schedule (open loop: a slow answer does not slow the senders) over keep-alive
connections and measures each request from send to full response. /healthz is the baseline: the
same server, middleware and client, but no session, membership check or database read. A row is
refused when any request failed.

usage: .venv/bin/python bench/web_status.py [--rate 200] [--seconds 10] [--runs 3]
       [--backends sqlite,postgresql] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web import GUILD, beat_forever, open_seeded, pct, scratch_database, web_process
from zilean.web.sessions import COOKIE_NAME


async def load(client: httpx.AsyncClient, path: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms) of requests sent every 1/rate s for `seconds`; and how many failed."""
    latencies: list[float] = []
    failures = 0

    async def one() -> None:
        nonlocal failures
        start = time.perf_counter()
        try:
            response = await client.get(path)
            if response.status_code != 200:
                failures += 1
                return
        except httpx.HTTPError:
            failures += 1
            return
        latencies.append((time.perf_counter() - start) * 1000)

    tasks = []
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        delay = begin + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one()))
    await asyncio.gather(*tasks)
    return latencies, failures


async def run_backend(backend: str, args: argparse.Namespace) -> list[str]:
    rows = []
    async with scratch_database(backend, args.pg) as url:
        db, bus, cookie = await open_seeded(url)
        beats = asyncio.create_task(beat_forever(bus))
        try:
            with tempfile.TemporaryDirectory() as tmp, web_process(url, Path(tmp)) as web:
                limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
                async with httpx.AsyncClient(base_url=web.url, limits=limits, timeout=10) as client:
                    client.cookies.set(COOKIE_NAME, cookie)
                    check = await client.get(f"/api/servers/{GUILD}/status")
                    if (
                        check.status_code != 200
                        or check.json()["track"] is None
                        or not check.json()["bot_online"]
                    ):
                        raise RuntimeError(
                            f"status is not a live guild's: {check.status_code} {check.text[:200]}"
                        )
                    await load(client, "/healthz", args.rate, 1.0)  # warm up connections and code paths
                    await load(client, f"/api/servers/{GUILD}/status", args.rate, 1.0)
                    for run in range(1, args.runs + 1):
                        for label, path in (
                            ("baseline /healthz", "/healthz"),
                            ("status", f"/api/servers/{GUILD}/status"),
                        ):
                            load_before = os.getloadavg()[0]
                            latencies, failed = await load(client, path, args.rate, args.seconds)
                            if failed or not latencies:
                                rows.append(
                                    f"| {backend} | {label} | {run} | setup failed: {failed} errors | | | | |"
                                )
                                continue
                            cells = [
                                backend, label, run, len(latencies), f"{pct(latencies, 0.5):.1f}",
                                f"{pct(latencies, 0.99):.1f}", f"{max(latencies):.1f}",
                                f"{statistics.mean(latencies):.1f}", f"{load_before:.1f}",
                            ]  # fmt: skip
                            rows.append("| " + " | ".join(str(cell) for cell in cells) + " |")
                            print(rows[-1], flush=True)
        finally:
            beats.cancel()
            await bus.close()
            await db.close()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    header = (
        "| backend | endpoint | run | requests | p50 ms | p99 ms | max ms | mean ms | load avg at start |"
    )
    print(header + "\n|---|---|---|---|---|---|---|---|---|", flush=True)
    for backend in args.backends.split(","):
        await run_backend(backend, args)


if __name__ == "__main__":
    asyncio.run(main())
