"""The player page's lyrics panel: `GET /guilds/{id}/lyrics`, a fragment for the track playing.

Synced lyrics come as `<li data-ms>` lines; app.js highlights the one being sung from the same
position anchor the progress bar counts from. The web process has its own client and cache (it
never asks the bot): lyrics are public data, looked up by the track the database says is playing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from zilean.core.errors import ZileanError
from zilean.core.lyrics import Lyrics, LyricsClient
from zilean.web.context import WebContext
from zilean.web.deps import Ctx, CurrentUser, GuildAccess
from zilean.web.pages.render import render

log = logging.getLogger(__name__)


def client_of(ctx: WebContext) -> LyricsClient | None:
    """The dashboard's lyrics client, built on first use (None when LYRICS_API_BASE is empty)."""
    base = ctx.settings.lyrics_api_base.strip()
    if not base:
        return None
    client: LyricsClient | None = ctx.__dict__.get("lyrics_client")
    if client is None:
        client = LyricsClient(base)
        ctx.__dict__["lyrics_client"] = client
        ctx.closers.append(client.aclose)
    return client


def lyrics_view(found: Lyrics) -> dict[str, Any]:
    """What the panel shows: the title, then synced lines (preferred: they follow the song) or plain text."""
    return {
        "title": found.track_name,
        "artist": found.artist_name,
        "instrumental": not found.text,
        "synced": [{"ms": line.time_ms, "text": line.text} for line in found.synced],
        "plain": found.plain.strip() if not found.synced else "",
    }


def lyrics_router() -> APIRouter:
    """The panel's fragment route."""
    router = APIRouter(include_in_schema=False)

    @router.get("/guilds/{guild_id}/lyrics", response_class=HTMLResponse)
    async def lyrics(ctx: Ctx, user: CurrentUser, access: GuildAccess) -> HTMLResponse:
        state = await ctx.db.player_state.load(access.id)
        track = state.track if state is not None else None
        context: dict[str, Any] = {"playing": track is not None, "lyrics": None, "lyrics_error": None}
        if track is not None:
            client = client_of(ctx)
            if client is None:
                context["lyrics_error"] = "Lyrics are turned off on this dashboard."
            else:
                try:
                    found = await client.for_track(track.title, track.artist, track.duration_ms)
                except ZileanError as exc:
                    context["lyrics_error"] = exc.message
                except Exception:
                    log.exception("lyrics for %r failed", track.title)
                    context["lyrics_error"] = "The lyrics could not be loaded; try again."
                else:
                    context["lyrics"] = lyrics_view(found)
        return HTMLResponse(render("partials/lyrics.html", context), headers={"Cache-Control": "no-store"})

    return router
