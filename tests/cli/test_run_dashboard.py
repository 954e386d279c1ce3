"""`zilean run` without a token, as `make run` starts it: sandbox + bot + dashboard in one process, one
address printed, and a person can log in through the sandbox's OAuth2 and drive the bot from the API."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def offline_run(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """`zilean run` with no DISCORD_TOKEN; yields the dashboard address and what it printed before it."""
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_", "LIBRARY_", "WEB_"))
    }
    env |= {
        "LOG_DIR": str(tmp_path / "logs"),
        "SANDBOX_PORT": "0",
        "WEB_PORT": str(port),
        "WEB_BASE_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "zilean", "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        printed: list[str] = []
        for line in proc.stdout:
            printed.append(line.rstrip("\n"))
            if line.startswith("Open http"):
                break
        assert printed and printed[-1].startswith("Open http"), printed
        yield printed[-1].split()[1], printed
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def wait_for(check, within: float = 60.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_make_run_prints_one_address_and_the_dashboard_drives_the_bot(
    offline_run: tuple[str, list[str]],
) -> None:
    dashboard, printed = offline_run
    urls = [url for line in printed for url in re.findall(r"https?://\S+", line)]
    assert urls == [dashboard], printed
    with httpx.Client(base_url=dashboard, timeout=30) as browser, httpx.Client(timeout=30) as discord:
        started = browser.get("/login")
        assert started.status_code == 303
        authorize = started.headers["location"]
        sandbox = re.match(r"https?://[^/]+", authorize)
        assert sandbox is not None
        state = discord.get(f"{sandbox.group(0)}/_sandbox/state").json()
        assert state["dashboard_url"] == dashboard  # the sandbox page links to the dashboard
        alice = next(u for u in state["users"] if u["username"] == "alice")
        page = discord.get(authorize)
        form = {
            k: html.unescape(v)
            for k, v in re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', page.text)
        }
        back = discord.post(
            f"{sandbox.group(0)}/oauth2/authorize",
            data={**form, "user_id": alice["id"], "action": "authorize"},
        )
        assert back.status_code == 302
        assert browser.get(back.headers["location"].removeprefix(dashboard)).status_code == 303

        servers = wait_for(lambda: browser.get("/api/servers").json())
        guild = state["guilds"][0]
        assert [s["id"] for s in servers] == [guild["id"]]
        # the bot takes commands once its bus worker beats (it may publish the guild a moment before)
        wait_for(lambda: browser.get(f"/api/servers/{guild['id']}/status").json()["bot_online"])
        music = next(c["id"] for c in guild["channels"] if c["name"] == "Music")
        discord.post(f"{sandbox.group(0)}/_sandbox/voice", json={"user_id": alice["id"], "channel_id": music})
        me = browser.get(f"/guilds/{guild['id']}")
        token = re.search(r'name="csrf-token" content="([^"]+)"', me.text)
        assert token is not None, me.text[:500]
        played = browser.post(
            f"/api/servers/{guild['id']}/play",
            json={"query": "tuning fork"},
            headers={"X-CSRF-Token": token.group(1)},
        )
        assert played.status_code == 200, played.text
        assert "Tuning Fork" in played.json()["message"]
