"""Bus fan-out: one state change reaching 1,000 subscribers of one web process's event follower.

The bot (publisher) runs in its own process and writes "player" events whose payload carries its
CLOCK_MONOTONIC time just before the INSERT; the web process has one EventFollower and N
subscriber tasks (what the SSE endpoint will hold, one per open browser tab), each recording when
the event reached it. Also measured: bot and web in one process (in-process signal).

usage: .venv/bin/python bench/bus_fanout.py [--subscribers 1000] [--events 50]
       [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time

from bus_latency import pct, scratch_databases
from zilean.db import open_database
from zilean.db.bus import Bus
from zilean.db.bus.follow import Subscription

GUILD = 1_180_000_000_000_000_001


async def publish(bus: Bus, events: int) -> None:
    for i in range(events):
        await asyncio.sleep(0.1 + random.uniform(0, 0.1))
        await bus.events.publish(GUILD, "player", {"i": i, "t0": time.monotonic_ns(), "paused": False})


async def publisher_main(url: str, events: int) -> None:
    db = await open_database(url)
    bus = Bus(db)
    await bus.start()
    await asyncio.to_thread(sys.stdin.readline)  # "go"
    await publish(bus, events)
    await bus.close()
    await db.close()


async def receive(subscription: Subscription, events: int, sink: dict[int, list[float]]) -> None:
    for _ in range(events):
        event = await subscription.get()
        sink.setdefault(event.payload["i"], []).append((time.monotonic_ns() - event.payload["t0"]) / 1e6)


async def run(url: str, backend: str, subscribers: int, events: int, same_process: bool) -> str:
    db = await open_database(url)
    bus = Bus(db)
    await bus.start()
    follower = await bus.follower()
    deliveries: dict[int, list[float]] = {}
    tasks = [
        asyncio.create_task(receive(follower.subscribe(GUILD), events, deliveries))
        for _ in range(subscribers)
    ]
    try:
        if same_process:
            await publish(bus, events)
        else:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--publisher", url, str(events), stdin=asyncio.subprocess.PIPE
            )
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.wait()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)
    finally:
        for task in tasks:
            task.cancel()
        await bus.close()
        await db.close()
    everything = [ms for values in deliveries.values() for ms in values]
    last = [max(values) for values in deliveries.values()]
    assert len(everything) == subscribers * events, "some subscriber missed an event"
    how = "same process" if same_process else ("NOTIFY" if backend == "postgresql" else "poll 50 ms")
    spread = f"{pct(everything, 0.5):.1f} | {pct(everything, 0.99):.1f}"
    slowest = f"{pct(last, 0.5):.1f} | {pct(last, 0.99):.1f}"
    return f"| {backend} | {how} | {subscribers} | {events} | {spread} | {slowest} | {max(everything):.1f} |"


async def main(args: argparse.Namespace) -> None:
    print(
        f"load average before: {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    print(
        "\n| backend | publisher | subscribers | events | p50 ms | p99 ms | last subscriber p50 ms "
        "| last subscriber p99 ms | max ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    async with scratch_databases(args.pg) as urls:
        for backend, url in urls.items():
            for same_process in (False, True):
                print(await run(url, backend, args.subscribers, args.events, same_process), flush=True)
    print(f"\nload average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--publisher":
        asyncio.run(publisher_main(sys.argv[2], int(sys.argv[3])))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
