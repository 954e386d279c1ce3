"""A click in one browser → the change visible in a second browser's DOM (issue #13), against polling.

The real offline stack in this process, as `zilean run` wires it: the sandbox (Discord), the bot and
the dashboard sharing one Database and Bus, on SQLite and on PostgreSQL. Browser A (alice) clicks the
loop mode (queue ↔ off, a state-only change); browser B (bob) has the player open and a
MutationObserver notes when the button's aria-pressed flips (the SSE push). Baseline in the same run:
page C polls GET /api/servers/{id}/status every 3 s, as the roadmap's `hx-trigger="every 3s"` would,
and notes when it sees the new mode. Both clocks are the same machine's Date.now().

usage: .venv/bin/python bench/web_live_dom.py [--clicks 30] [--runs 3] [--backends sqlite,postgresql]
       [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests"), str(ROOT / "tests/web/browser")]

from browser_kit import launched_browser, logged_in_context  # noqa: E402
from e2e_stack import Stack, running_stack  # noqa: E402

from _web import pct, scratch_database  # noqa: E402

POLL_MS = 3000
WATCH_JS = """(mode) => new Promise(resolve => {
  const seen = () => {
    const b = document.querySelector('#controls button[name=mode][value=' + mode + ']');
    return b && b.getAttribute('aria-pressed') === 'true';
  };
  if (seen()) return resolve(Date.now());
  const obs = new MutationObserver(() => { if (seen()) { obs.disconnect(); resolve(Date.now()); } });
  obs.observe(document.body, {subtree: true, childList: true, attributes: true});
})"""
# One poller for the whole run, like hx-trigger="every 3s": it notes each mode it sees first, and when.
POLLER_JS = """([url, every]) => {
  window.zSeen = [];
  setInterval(() => fetch(url).then(r => r.json()).then(j => {
    const last = window.zSeen[window.zSeen.length - 1];
    if (!last || last[0] !== j.loop) window.zSeen.push([j.loop, Date.now()]);
  }), every);
}"""
POLLED_JS = """(mode) => {
  const last = window.zSeen[window.zSeen.length - 1];
  return last && last[0] === mode ? last[1] : null;
}"""
CLICK_JS = """(mode) => {
  const b = document.querySelector('#controls button[name=mode][value=' + mode + ']');
  const t = Date.now(); b.click(); return t;
}"""


async def prepare(stack: Stack) -> None:
    """alice in voice with a track on loop-one (so nothing ends during the run)."""
    driver = stack.driver
    await driver.join_voice("alice")
    await driver.say("alice", "=play local:steps.flac")
    await driver.packets_flowing()
    await driver.say("alice", "=loop off")


async def one_run(stack: Stack, browser: object, clicks: int) -> tuple[list[float], list[float]]:
    gid = stack.driver.guild_id
    app, base = stack.web.app, stack.web.base_url
    a = await logged_in_context(browser, app, base, stack.driver.users["alice"], "alice")  # type: ignore[arg-type]
    b = await logged_in_context(browser, app, base, stack.driver.users["bob"], "bob")  # type: ignore[arg-type]
    pa, pb, pc = await a.new_page(), await b.new_page(), await b.new_page()
    for page in (pa, pb):
        await page.goto(f"/guilds/{gid}")
        await page.wait_for_selector("#live-state:text('Live')")
    await pc.goto("/")
    await pc.evaluate(POLLER_JS, [f"/api/servers/{gid}/status", POLL_MS])
    sse: list[float] = []
    polled: list[float] = []
    mode = "queue"
    for _ in range(clicks):
        watch = asyncio.ensure_future(pb.evaluate(WATCH_JS, mode))
        await asyncio.sleep(random.uniform(0.05, POLL_MS / 1000))  # no phase lock with the poller
        async with pa.expect_response(lambda r: "/do/loop" in r.url, timeout=60_000) as info:
            clicked = await pa.evaluate(CLICK_JS, mode)
        if (await info.value).status != 200:
            raise RuntimeError(f"the loop click was answered {(await info.value).status}")
        sse.append(await watch - clicked)
        handle = await pc.wait_for_function(POLLED_JS, arg=mode, timeout=60_000, polling=50)
        polled.append(await handle.json_value() - clicked)
        mode = "off" if mode == "queue" else "queue"
    await a.close()
    await b.close()
    return sse, polled


def summary(values: list[float]) -> str:
    return f"p50 {pct(values, 0.5):.0f} ms, p99 {pct(values, 0.99):.0f} ms, max {max(values):.0f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clicks", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--pg", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    for backend in args.backends.split(","):
        all_sse: list[float] = []
        all_poll: list[float] = []
        async with scratch_database(backend, args.pg) as url:
            with tempfile.TemporaryDirectory() as tmp:
                async with running_stack(Path(tmp), database_url=url) as stack, launched_browser() as browser:
                    await prepare(stack)
                    for run in range(1, args.runs + 1):
                        sse, polled = await one_run(stack, browser, args.clicks)
                        all_sse += sse
                        all_poll += polled
                        print(
                            f"{backend} run {run}: SSE {summary(sse)} | polling 3 s {summary(polled)}",
                            flush=True,
                        )
        print(
            f"{backend} all {len(all_sse)}: SSE {summary(all_sse)}, mean {statistics.mean(all_sse):.0f} ms"
            f" | polling 3 s {summary(all_poll)}, mean {statistics.mean(all_poll):.0f} ms",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    asyncio.run(main())
