"""1,000 live (SSE) clients on one `zilean web` process: an event reaches all of them — how fast,
and what an idle client costs in memory. Baseline in the same run: one client alone.

The bot is played by this script: it publishes "player" events on its own Bus (another process's
view, so PostgreSQL NOTIFY or the SQLite commit watch wakes the web process), 200–400 ms apart.
Latency runs from just before the publishing INSERT to the moment a client's socket delivers the
event's `id:` line. The clients are plain asyncio sockets in this process (no SSE library), so
their own cost stays small. Memory: the server's RSS with the clients connected and idle, minus
before, divided by their number. A row is refused when a client missed an event or failed to connect.

usage: .venv/bin/python bench/web_sse.py [--clients 1000] [--events 30] [--runs 3]
       [--backends postgresql,sqlite] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _web import GUILD, beat_forever, open_seeded, pct, scratch_database, web_process
from zilean.core.track import Track
from zilean.db.bus import Bus
from zilean.db.records import PlayerState
from zilean.web.sessions import COOKIE_NAME

ID_LINE = re.compile(rb"(?m)^id: (\d+)\r?$")


class Client:
    """One browser's EventSource: a socket reading the stream and noting when each event id arrives."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.ready = asyncio.Event()
        self.failed: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def run(self, base: str, cookie: str) -> None:
        host, port = urlsplit(base).hostname, urlsplit(base).port
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as exc:
            self.failed = str(exc)
            self.ready.set()
            return
        request = (
            f"GET /api/servers/{GUILD}/events HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Cookie: {COOKIE_NAME}={cookie}\r\nAccept: text/event-stream\r\n\r\n"
        )
        writer.write(request.encode())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                self.failed = head.split(b"\r\n")[0].decode()
                return
            self.ready.set()
            buffer = b""
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    return
                now = time.perf_counter()
                buffer = buffer[-64:] + chunk
                for match in ID_LINE.finditer(buffer):
                    self.arrived.setdefault(int(match.group(1)), now)
        except (OSError, asyncio.IncompleteReadError) as exc:
            self.failed = self.failed or str(exc)
        finally:
            self.ready.set()
            writer.close()


def playing(n: int) -> PlayerState:
    track = Track(title=f"Song {n}", url="https://example.com/s", source="direct", duration_ms=180_000)
    return PlayerState(guild_id=GUILD, voice_channel_id=5, track=track, position_ms=n * 1000)


async def measure(bus: Bus, web_url: str, cookie: str, clients: int, events: int, rss: object) -> str:
    crowd = [Client() for _ in range(clients)]
    rss_before = rss()  # type: ignore[operator]
    for start in range(0, clients, 100):  # connect in waves, as page loads would
        batch = crowd[start : start + 100]
        for client in batch:
            client.task = asyncio.create_task(client.run(web_url, cookie))
        await asyncio.gather(*(c.ready.wait() for c in batch))
    failed = [c.failed for c in crowd if c.failed]
    try:
        if failed:
            return f"setup failed: {len(failed)} clients ({failed[0]})"
        await asyncio.sleep(3.0)  # idle
        per_client_kib = (rss() - rss_before) / clients  # type: ignore[operator]
        sent: dict[int, float] = {}
        for n in range(events):
            await asyncio.sleep(random.uniform(0.2, 0.4))
            start = time.perf_counter()
            event_id = await bus.events.publish_player(playing(n))
            sent[event_id] = start
        for _ in range(150):  # up to 15 s for the stragglers
            if all(sent.keys() <= c.arrived.keys() for c in crowd):
                break
            await asyncio.sleep(0.1)
        missing = sum(len(sent.keys() - c.arrived.keys()) for c in crowd)
        if missing:
            return f"setup failed: {missing} deliveries missing"
        latencies = [(c.arrived[i] - t) * 1000 for c in crowd for i, t in sent.items()]
        last = [max(c.arrived[i] for c in crowd) * 1000 - t * 1000 for i, t in sent.items()]
        return (
            f"{len(latencies)} | {pct(latencies, 0.5):.1f} | {pct(latencies, 0.99):.1f} | "
            f"{pct(last, 0.5):.1f} | {pct(last, 0.99):.1f} | {max(latencies):.1f} | "
            + (f"{per_client_kib:.1f}" if clients >= 100 else "—")
        )
    finally:
        for client in crowd:
            if client.task is not None:
                client.task.cancel()
        await asyncio.gather(*(c.task for c in crowd if c.task), return_exceptions=True)
        await asyncio.sleep(1.0)


async def run_backend(backend: str, args: argparse.Namespace) -> None:
    async with scratch_database(backend, args.pg) as url:
        db, bus, cookie = await open_seeded(url)
        await bus.start()
        beats = asyncio.create_task(beat_forever(bus))
        try:
            with tempfile.TemporaryDirectory() as tmp, web_process(url, Path(tmp)) as web:
                for run in range(1, args.runs + 1):
                    for label, count in (
                        ("baseline: 1 client", 1),
                        (f"{args.clients} clients", args.clients),
                    ):
                        load = os.getloadavg()[0]
                        result = await measure(bus, web.url, cookie, count, args.events, web.rss_kib)
                        print(f"| {backend} | {label} | {run} | {result} | {load:.1f} |", flush=True)
        finally:
            beats.cancel()
            await bus.close()
            await db.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument(
        "--pg", default=os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    print(
        "| backend | clients | run | deliveries | p50 ms | p99 ms | last client p50 ms | last client p99 ms "
        "| max ms | RSS per idle client KiB | load avg at start |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|", flush=True)
    for backend in args.backends.split(","):
        await run_backend(backend, args)


if __name__ == "__main__":
    asyncio.run(main())
