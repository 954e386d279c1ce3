"""GET /api/servers/{id}/events: the guild's live updates as JSON Server-Sent Events (see web/live.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sse_starlette import EventSourceResponse

from zilean.web.deps import Ctx, CurrentUser, GuildAccess
from zilean.web.live import live_response

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/servers/{guild_id}/events", summary="Live updates (text/event-stream)")
async def events(
    request: Request,
    ctx: Ctx,
    user: CurrentUser,
    guild: GuildAccess,
    after: Annotated[str | None, Query(max_length=20, description="resume after this event id")] = None,
) -> EventSourceResponse:
    return await live_response(request, ctx, user, guild.id, after=after)
