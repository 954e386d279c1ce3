"""A real headless Chromium (Debian's /usr/bin/chromium, never a downloaded one) and the dashboard served
by uvicorn on a random port, for the browser tests and the screenshot and latency scripts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1440, "height": 900}


def chromium_path() -> str | None:
    """Where Chromium is: CHROMIUM_PATH, else Debian's package."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.path.exists(candidate):
            return candidate
    return shutil.which("chromium")


@contextlib.asynccontextmanager
async def launched_browser() -> AsyncIterator[Browser]:
    """Headless Chromium for as long as the block runs."""
    path = chromium_path()
    assert path is not None, "no Chromium found (apt-get install chromium)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


def free_socket() -> socket.socket:
    """A listening-ready TCP socket on a random loopback port (uvicorn serves on it)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Served:
    """The dashboard at `base_url`."""

    app: FastAPI
    base_url: str


@contextlib.asynccontextmanager
async def served(app: FastAPI, sock: socket.socket) -> AsyncIterator[Served]:
    """Serve `app` with uvicorn on `sock` in this event loop until the block ends."""
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        host, port = sock.getsockname()[:2]
        yield Served(app, f"http://{host}:{port}")
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
        sock.close()


async def logged_in_context(
    browser: Browser, app: FastAPI, base_url: str, user_id: int, name: str, **options: Any
) -> BrowserContext:
    """A browser context holding a fresh dashboard session for `user_id` (as a login leaves it)."""
    sessions = app.state.web.sessions
    raw = await sessions.start(user_id, name, None, None)
    context = await browser.new_context(base_url=base_url, **options)
    await context.add_cookies([{"name": sessions.cookie_name, "value": raw, "url": base_url}])
    return context


async def no_horizontal_scroll(page: Page) -> bool:
    """True when the page is no wider than the window."""
    return bool(await page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"))


async def small_targets(page: Page) -> list[str]:
    """Visible controls smaller than 44 × 44 CSS px (buttons, inputs, selects, links styled as buttons)."""
    return list(await page.evaluate(SMALL_TARGETS_JS))


SMALL_TARGETS_JS = """() => [...document.querySelectorAll('button, input:not([type=hidden]), select, a.btn')]
  .filter(el => el.offsetParent !== null)
  .map(el => [el, el.getBoundingClientRect()])
  .filter(([el, r]) => {
    if (r.width === 0) return false;
    const stretches = ['range', 'file', 'search', 'text'].includes(el.type);
    return !((stretches || r.width >= 44) && r.height >= 44);
  })
  .map(([el, r]) => `${el.outerHTML.slice(0, 90)} ${Math.round(r.width)}x${Math.round(r.height)}`)"""


async def serious_axe_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page, one line each."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    found = []
    for violation in results.response.get("violations", []):
        if violation.get("impact") in ("serious", "critical"):
            targets = [str(node.get("target")) for node in violation.get("nodes", [])][:3]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found
