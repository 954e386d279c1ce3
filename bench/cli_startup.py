"""CLI start-up: `zilean --help` and `zilean version` against a bare `python -c pass`, and
`zilean send GUILD pause --as USER` end to end on SQLite (a bot running through the sandbox
answers it), all in one run, interleaved so machine load hits each the same.

Each round runs every command once, in turn; a run is `--rounds` rounds; medians per run.
The bot: `zilean sandbox --no-web --no-voice` on a SQLite file, waited for until its heartbeat
is in the database. `send` is timed from process start to exit with the bot's answer printed.

usage: .venv/bin/python bench/cli_startup.py [--runs 3] [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from zilean.sandbox.world import build_world

ZILEAN = str(Path(sys.executable).with_name("zilean"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def timed(argv: list[str], env: dict[str, str], expect: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process): CPU time says what the command costs even when
    other work on the machine stretches the wall clock."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if result.returncode not in (0, 2) or (expect is not None and expect not in result.stdout):
        answer = f"{result.returncode}: {result.stdout}{result.stderr}"
        sys.exit(f"setup failed, no row reported: {argv[1:]} → {answer}")
    return elapsed, cpu


def wait_for_heartbeat(db: Path, bot: subprocess.Popen[str], within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if bot.poll() is not None:
            sys.exit(f"setup failed: the sandbox bot exited with {bot.returncode}")
        try:
            with sqlite3.connect(db) as conn:
                if conn.execute("SELECT count(*) FROM bot_heartbeats").fetchone()[0]:
                    return
        except sqlite3.OperationalError:
            pass  # not migrated yet
        time.sleep(0.2)
    sys.exit("setup failed: no bot heartbeat within 120 s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    world = build_world()
    guild = next(iter(world.guilds.values()))
    dj = next(user for user in world.users.values() if user.username == "dj")
    commands = {
        "python -c pass (baseline)": ([sys.executable, "-c", "pass"], None),
        "zilean --help": ([ZILEAN, "--help"], "commands"),
        "zilean version": ([ZILEAN, "version"], "groovy-zilean"),
        "zilean send … pause (SQLite, bot answers)": (
            [ZILEAN, "send", str(guild.id), "pause", "--as", str(dj.id), "--timeout", "10"],
            ":",
        ),
    }
    results: dict[str, list[float]] = {name: [] for name in commands}
    cpu_results: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="zilean-bench-cli-") as tmp:
        db = Path(tmp) / "zilean.db"
        # Bytecode as users have it: PYTHONDONTWRITEBYTECODE would recompile every module each run.
        skip = ("DISCORD_", "DATABASE_", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
        env |= {"DATABASE_URL": f"sqlite+aiosqlite:///{db}", "LOG_DIR": str(Path(tmp) / "logs")}
        bot = subprocess.Popen(
            [ZILEAN, "sandbox", "--port", str(free_port()), "--no-web", "--no-voice"],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            wait_for_heartbeat(db, bot)
            for argv, expect in commands.values():  # warm up: caches, bytecode written
                timed(argv, env, expect)
            for _ in range(args.runs):
                samples: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
                for _ in range(args.rounds):
                    for name, (argv, expect) in commands.items():
                        samples[name].append(timed(argv, env, expect))
                for name, pairs in samples.items():
                    results[name].append(statistics.median(wall for wall, _ in pairs))
                    cpu_results[name].append(statistics.median(cpu for _, cpu in pairs))
        finally:
            bot.terminate()
            bot.wait(timeout=30)
    base = results["python -c pass (baseline)"]
    print(f"{args.runs} runs × {args.rounds} rounds; median per run, ms")
    print("| command | wall, run medians (ms) | wall × baseline | CPU, run medians (ms) | CPU × baseline |")
    print("|---|---|---|---|---|")
    cpu_base = cpu_results["python -c pass (baseline)"]
    for name, values in results.items():
        ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
        cpu = cpu_results[name]
        cpu_ratio = statistics.median(v / b for v, b in zip(cpu, cpu_base, strict=True))
        walls, cpus = (" / ".join(f"{v * 1000:.0f}" for v in row) for row in (values, cpu))
        print(f"| {name} | {walls} | {ratio:.2f}× | {cpus} | {cpu_ratio:.2f}× |")


if __name__ == "__main__":
    main()
