"""The /sandbox web page for people, and the live PCM websocket it plays through WebAudio."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from zilean.sandbox.server import Sandbox

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


def add_ui_routes(app: web.Application, sandbox: Sandbox) -> None:
    """GET /sandbox, its static files, and WS /_sandbox/voice/{guild_id}/pcm."""

    async def page(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def pcm(request: web.Request) -> web.WebSocketResponse:
        """Binary frames of 48 kHz stereo s16le as the voice server decodes them."""
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        if sandbox.voice is None:
            await ws.close(code=4000, message=b"no voice server")
            return ws
        guild_id = int(request.match_info["guild_id"])

        async def pump() -> None:
            assert sandbox.voice is not None
            async for chunk in sandbox.voice.subscribe_pcm(guild_id):
                if ws.closed:
                    return
                await ws.send_bytes(chunk)

        task = asyncio.create_task(pump())
        try:
            async for msg in ws:  # the page sends nothing; this only notices the close
                if msg.type is WSMsgType.ERROR:
                    break
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        return ws

    app.router.add_get("/sandbox", page)
    app.router.add_get("/sandbox/", page)
    app.router.add_static("/sandbox/static", STATIC)
    app.router.add_get("/_sandbox/voice/{guild_id:\\d+}/pcm", pcm)
