"""`zilean run` (what `make run` starts) without a token: one dashboard URL, and it serves the login page."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser_kit import free_socket
from playwright.async_api import Browser, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]

URL = re.compile(r"https?://[^\s)]+")


@pytest.fixture
def zilean_run(tmp_path: Path) -> Iterator[tuple[str, list[str]]]:
    """`zilean run` in an empty directory; yields the dashboard URL and every line printed up to it."""
    sock = free_socket()
    web_port = sock.getsockname()[1]
    sock.close()
    unset = ("DISCORD_", "DATABASE_", "LIBRARY_", "WEB_", "SANDBOX_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(unset)}
    env.update(LOG_DIR=str(tmp_path / "logs"), WEB_PORT=str(web_port), SANDBOX_PORT="0")
    log = (tmp_path / "stderr.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "zilean", "run"],
        stdout=subprocess.PIPE,
        stderr=log,  # the log; what a person reads is stdout
        text=True,
        env=env,
        cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=120)
            if line is None:
                raise AssertionError(
                    "zilean run exited:\n" + "".join(seen) + (tmp_path / "stderr.log").read_text()
                )
            seen.append(line)
            if line.startswith("Open "):
                break
        yield URL.findall(line)[0], seen
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        reader.join(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
        log.close()


async def test_zilean_run_prints_one_dashboard_url_that_serves_the_login_page(
    zilean_run: tuple[str, list[str]], browser: Browser
) -> None:
    url, printed = zilean_run
    urls = [u for line in printed for u in URL.findall(line)]
    assert urls == [url], printed  # one address to open, the dashboard's
    async with httpx.AsyncClient(timeout=15) as http:
        page = await http.get(url)
    assert page.status_code == 200 and "Login with Discord" in page.text
    context = await browser.new_context()
    tab = await context.new_page()
    await tab.goto(url)
    await tab.get_by_role("link", name="Login with Discord").click()
    await expect(tab.get_by_role("button", name="Authorize")).to_be_visible()  # the sandbox's consent page
    await context.close()
