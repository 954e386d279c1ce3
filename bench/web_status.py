"""GET /api/servers/{id}/status at steady rates (50, 100, 200 requests/s), against GET /healthz at each.

One `zilean web` process (its own process, as in production) on SQLite and on PostgreSQL; the client
sends on a fixed schedule (open loop: a slow answer does not slow the senders) over keep-alive
connections and measures each request from send to full response. /healthz is the baseline: the
same server, middleware and client, but no session, membership check or database read. A row is
refused when any request failed.

usage: .venv/bin/python bench/web_status.py [--rates 50,100,200] [--seconds 10] [--runs 3]
       [--backends sqlite,postgresql] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web import GUILD, beat_forever, open_seeded, pct, scratch_database, web_process
from zilean.web.sessions import COOKIE_NAME

CONNECTIONS = 16  # keep-alive connections the load is spread over


class Connection:
    """One keep-alive HTTP/1.1 connection (plain asyncio: the client's own cost stays small)."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: {COOKIE_NAME}={self.cookie}\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: (\d+)", head).group(1))  # type: ignore[union-attr]
        await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(web_url: str, cookie: str, path: str, rate: float, seconds: float) -> tuple[list[float], int]:
    """Latencies (ms, from each request's scheduled send time) at `rate` requests/s; and the failures.

    Open loop: requests are due every 1/rate s whatever the answers do; CONNECTIONS keep-alive
    connections take them in turn, so a slow answer shows up as waiting, not as fewer requests.
    """
    parts = urlsplit(web_url)
    due: asyncio.Queue[float | None] = asyncio.Queue()
    latencies: list[float] = []
    failures = 0

    async def worker() -> None:
        nonlocal failures
        connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80, cookie)
        try:
            while (scheduled := await due.get()) is not None:
                try:
                    ok = await connection.get(path) == 200
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    ok = False
                    connection.close()
                    connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80, cookie)
                if ok:
                    latencies.append((time.perf_counter() - scheduled) * 1000)
                else:
                    failures += 1
        finally:
            connection.close()

    workers = [asyncio.create_task(worker()) for _ in range(CONNECTIONS)]
    begin = time.perf_counter()
    for i in range(int(rate * seconds)):
        scheduled = begin + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait(scheduled)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    return latencies, failures


async def run_backend(backend: str, args: argparse.Namespace) -> None:
    async with scratch_database(backend, args.pg) as url:
        db, bus, cookie = await open_seeded(url)
        beats = asyncio.create_task(beat_forever(bus))
        try:
            with tempfile.TemporaryDirectory() as tmp, web_process(url, Path(tmp)) as web:
                await live_status_check(web.url, cookie)
                await load(web.url, cookie, "/healthz", 50, 1.0)  # warm up connections and code paths
                await load(web.url, cookie, f"/api/servers/{GUILD}/status", 50, 1.0)
                for run, rate in (
                    (run, float(r)) for run in range(1, args.runs + 1) for r in args.rates.split(",")
                ):
                    for label, path in (
                        ("baseline /healthz", "/healthz"),
                        ("status", f"/api/servers/{GUILD}/status"),
                    ):
                        load_before = os.getloadavg()[0]
                        latencies, failed = await load(web.url, cookie, path, rate, args.seconds)
                        if failed or not latencies:
                            print(
                                f"| {backend} | {label} | {run} | setup failed: {failed} errors | | | | | |"
                            )
                            continue
                        cells = [
                            backend, label, f"{rate:.0f}", run, len(latencies), f"{pct(latencies, 0.5):.1f}",
                            f"{pct(latencies, 0.99):.1f}", f"{max(latencies):.1f}",
                            f"{statistics.mean(latencies):.1f}", f"{load_before:.1f}",
                        ]  # fmt: skip
                        print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)
        finally:
            beats.cancel()
            await bus.close()
            await db.close()


async def live_status_check(web_url: str, cookie: str) -> None:
    """Refuse to measure unless the status is a live guild's (a track, the bot online)."""
    async with httpx.AsyncClient(base_url=web_url, timeout=10) as client:
        client.cookies.set(COOKIE_NAME, cookie)
        for _ in range(50):  # the first heartbeat may still be on its way
            check = await client.get(f"/api/servers/{GUILD}/status")
            if check.status_code == 200 and check.json()["track"] and check.json()["bot_online"]:
                return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"status is not a live guild's: {check.status_code} {check.text[:200]}")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="50,100,200", help="requests per second, comma-separated")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    header = "| backend | endpoint | req/s | run | requests | p50 ms | p99 ms | max ms | mean ms | load avg |"
    print(header + "\n|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for backend in args.backends.split(","):
        await run_backend(backend, args)


if __name__ == "__main__":
    asyncio.run(main())
