"""A session's Discord access token when the dashboard needs Discord itself: refreshed when it has
expired (or is about to), the new pair stored encrypted in place of the old."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from zilean.db.connector import utcnow
from zilean.web.oauth import OAuthFailed
from zilean.web.sessions import SessionUser

log = logging.getLogger(__name__)

REFRESH_AHEAD = timedelta(minutes=1)


class NoDiscordToken(Exception):
    """The session has no usable Discord token any more (log in again)."""


async def access_token(ctx: Any, user: SessionUser) -> str:
    """A valid access token for the user's session (ctx: the WebContext), refreshing it if needed."""
    session = user.session
    token = ctx.cipher.decrypt(session.access_token_enc)
    expires = session.token_expires_at
    if token and expires is not None and expires - REFRESH_AHEAD > utcnow():
        return str(token)
    refresh = ctx.cipher.decrypt(session.refresh_token_enc)
    if not refresh:
        raise NoDiscordToken()
    try:
        fresh = await ctx.oauth.refresh(refresh)
    except OAuthFailed as exc:
        log.warning("refreshing the Discord token of user %s failed: %s", user.id, exc.message)
        raise NoDiscordToken() from exc
    await ctx.db.web_sessions.set_tokens(
        session.id_hash,
        ctx.cipher.encrypt(fresh.access_token),
        ctx.cipher.encrypt(fresh.refresh_token) if fresh.refresh_token else None,
        fresh.expires_at,
    )
    return str(fresh.access_token)


async def refresh_discord_guilds(ctx: Any, user: SessionUser) -> list[dict[str, Any]]:
    """Ask Discord again which servers the user is in (for "Add the bot" links) and keep the answer."""
    guilds: list[dict[str, Any]] = await ctx.oauth.guilds(await access_token(ctx, user))
    await ctx.db.web_sessions.set_discord_guilds(user.session.id_hash, guilds)
    return guilds
