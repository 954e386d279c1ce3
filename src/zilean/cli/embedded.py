"""Bot and dashboard in one process, sharing one Database and one Bus (`zilean run`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from zilean.config import Settings


@dataclass(frozen=True)
class DashboardPlan:
    """Where the dashboard listens beside the bot; `on_ready(base_url)` is told its address."""

    host: str
    port: int
    on_ready: Callable[[str], None]


async def with_dashboard(bot: Any, settings: Settings, token: str, plan: DashboardPlan) -> None:
    """Bot and dashboard side by side on one Database and Bus; either one ending ends both."""
    from zilean.bot.connection import stay_connected
    from zilean.web.app import create_app
    from zilean.web.server import DashboardServer, bind

    bus = bot.bus
    sock = bind(plan.host, plan.port)
    port = sock.getsockname()[1]
    # Unless WEB_BASE_URL is set (a proxy in front), the dashboard is where it listens: WEB_PORT alone
    # must not leave the printed address and the OAuth redirect on the default port.
    derived = "web_base_url" not in settings.model_fields_set
    if plan.port == 0 or settings.web_port != port or derived:
        settings = settings.model_copy(
            update={"web_base_url": f"http://{plan.host}:{port}", "web_port": port}
        )
    server = DashboardServer(create_app(settings, bus.db, bus), settings, sock=sock)
    web_task = asyncio.create_task(server.serve(), name="zilean-dashboard")
    bot_task = asyncio.create_task(
        stay_connected(bot, token, api_base=settings.discord_api_base), name="zilean-bot"
    )
    try:
        # The address is printed once uvicorn accepts on it (a bound socket refuses connections until
        # then, which on a busy machine is long enough for someone, or a test, to be turned away).
        # uvicorn exposes only a flag (`Server.started`), no event to wait on
        while not server.started and not web_task.done() and not bot_task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if server.started:
            plan.on_ready(settings.web_base_url.rstrip("/"))
        await asyncio.wait({web_task, bot_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.stop()
        bot_task.cancel()
        for task in (web_task, bot_task):
            with contextlib.suppress(asyncio.CancelledError):
                await task
