"""GET /api/me (who is logged in); POST /api/me/discord-guilds (re-read the user's servers from Discord)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from zilean.web.deps import Ctx, CurrentUser
from zilean.web.discord_tokens import NoDiscordToken, refresh_discord_guilds
from zilean.web.oauth import OAuthFailed

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/me", summary="The logged-in user")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"id": str(user.id), "username": user.username, "avatar": user.avatar_url}


@router.post("/me/discord-guilds", summary="Re-read your servers from Discord (for the invite links)")
async def discord_guilds(ctx: Ctx, user: CurrentUser) -> dict[str, Any]:
    try:
        guilds = await refresh_discord_guilds(ctx, user)
    except NoDiscordToken:
        raise HTTPException(401, "Discord no longer accepts this login; log in again.") from None
    except OAuthFailed as exc:
        raise HTTPException(502, exc.message) from None
    return {"ok": True, "count": len(guilds)}
