"""A bot process for the bus reliability tests: runs commands, appending each id it ran to a file.

usage: worker_proc.py DATABASE_URL RAN_FILE [--shards 0,1] [--shard-count N] [--block-after-claim]

Prints "ready <process id>" once it is set up, then waits for a line "go" on stdin
before it starts claiming (so racing workers start together). With --block-after-claim it prints
"claimed <ids>" after its first claim commits and then hangs before running anything, so the test
can SIGKILL it exactly between claim and execution.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from zilean.db import open_database
from zilean.db.bus import Bus, BusOptions
from zilean.db.bus.records import Command, Outcome
from zilean.db.bus.worker import WorkerTiming


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("ran_file")
    parser.add_argument("--shards", default="0")
    parser.add_argument("--shard-count", type=int, default=1)
    parser.add_argument("--block-after-claim", action="store_true")
    args = parser.parse_args()

    ran = os.open(args.ran_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND)

    async def handler(command: Command) -> Outcome:
        os.write(ran, f"{command.id}\n".encode())  # one write per line: O_APPEND keeps lines whole
        await asyncio.sleep(0)
        return Outcome.done("ran")

    async def on_claimed(batch: list[Command]) -> None:
        if args.block_after_claim:
            print("claimed " + ",".join(str(c.id) for c in batch), flush=True)
            await asyncio.Event().wait()

    timing = WorkerTiming(heartbeat_s=0.2, stale_after_s=2.0, maintenance_s=0.2, command_expiry_s=30)
    db = await open_database(args.url)
    bus = Bus(db, BusOptions(poll_interval_s=0.02, timing=timing))
    await bus.start()
    shards = [int(s) for s in args.shards.split(",")]
    worker = bus.worker(handler, shard_ids=shards, shard_count=args.shard_count, on_claimed=on_claimed)
    print(f"ready {worker.process_id}", flush=True)
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        return
    await worker.start()
    # Run until the test closes stdin (or kills us).
    await asyncio.to_thread(sys.stdin.read)
    await bus.close()
    await db.close()


if __name__ == "__main__":
    asyncio.run(main())
