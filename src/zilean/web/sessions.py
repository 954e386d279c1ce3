"""Server-side dashboard sessions (OWASP ASVS 5.0 §7): the cookie holds a 128-bit random id, the
database holds only its SHA-256, a fresh id at every login, idle and absolute expiry, logout deletes.

The cookie is HttpOnly and SameSite=Lax; with an https WEB_BASE_URL it is also Secure and named
with the `__Host-` prefix (so no subdomain or plain-http page can set or shadow it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import HTTPConnection
from starlette.responses import Response

from zilean.db import Database
from zilean.db.connector import utcnow
from zilean.db.records import WebSession
from zilean.web.crypto import TokenCipher, digest, random_token

log = logging.getLogger(__name__)

COOKIE_NAME = "zilean_session"
SECURE_COOKIE_NAME = "__Host-zilean_session"
# A session's expiry is slid forward at most this often (one write, not one per request).
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class DiscordTokens:
    """What Discord's token endpoint answered (plaintext: only in memory)."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The logged-in user of a request: who, and the session's CSRF token."""

    id: int
    username: str
    avatar: str | None
    csrf_token: str
    session: WebSession

    @property
    def avatar_url(self) -> str | None:
        """Discord's CDN URL of the avatar, if the user has one."""
        if not self.avatar:
            return None
        return f"https://cdn.discordapp.com/avatars/{self.id}/{self.avatar}.png?size=64"


class SessionManager:
    """Creates, finds and ends sessions; sets and clears the cookie."""

    def __init__(
        self,
        db: Database,
        cipher: TokenCipher,
        *,
        secure: bool,
        idle: timedelta,
        absolute: timedelta,
    ) -> None:
        self.db = db
        self.cipher = cipher
        self.secure = secure
        self.idle = idle
        self.absolute = absolute
        self.cookie_name = SECURE_COOKIE_NAME if secure else COOKIE_NAME

    def expiry(self, created_at: datetime, now: datetime) -> datetime:
        """When a session created at `created_at` and used at `now` expires."""
        return min(now + self.idle, created_at + self.absolute)

    async def start(
        self,
        user_id: int,
        username: str,
        avatar: str | None,
        tokens: DiscordTokens | None,
        discord_guilds: Sequence[dict[str, Any]] = (),
    ) -> str:
        """A new session for a user who just logged in; returns the raw id for the cookie."""
        await self.db.users.upsert(user_id, username, avatar)
        raw = random_token(128)
        now = utcnow()
        await self.db.web_sessions.create(
            digest(raw),
            user_id,
            random_token(128),
            self.expiry(now, now),
            access_token_enc=self.cipher.encrypt(tokens.access_token) if tokens else None,
            refresh_token_enc=self.cipher.encrypt(tokens.refresh_token)
            if tokens and tokens.refresh_token
            else None,
            token_expires_at=tokens.expires_at if tokens else None,
            discord_guilds=discord_guilds,
        )
        log.info("user %s logged in to the dashboard", user_id)
        return raw

    def raw_id(self, conn: HTTPConnection) -> str | None:
        """The session id the browser sent, if any."""
        value = conn.cookies.get(self.cookie_name)
        return value if value and len(value) <= 64 else None

    async def load(self, raw: str | None) -> SessionUser | None:
        """The session for a cookie value, if it exists and has not expired (its idle expiry slides)."""
        if not raw:
            return None
        session = await self.db.web_sessions.get(digest(raw))
        now = utcnow()
        if session is None:
            return None
        if session.expires_at <= now or session.created_at + self.absolute <= now:
            await self.db.web_sessions.delete(session.id_hash)
            return None
        if session.last_seen_at is None or now - session.last_seen_at >= TOUCH_EVERY:
            await self.db.web_sessions.touch(session.id_hash, now, self.expiry(session.created_at, now))
        return SessionUser(
            id=session.user_id,
            username=session.username,
            avatar=session.avatar,
            csrf_token=session.csrf_token,
            session=session,
        )

    async def end(self, raw: str | None) -> WebSession | None:
        """Delete the session server side; returns it (so its Discord token can be revoked)."""
        if not raw:
            return None
        return await self.db.web_sessions.delete(digest(raw))

    def set_cookie(self, response: Response, raw: str) -> None:
        """Give the browser its session cookie (lifetime: the absolute expiry)."""
        response.set_cookie(
            self.cookie_name,
            raw,
            max_age=int(self.absolute.total_seconds()),
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear_cookie(self, response: Response) -> None:
        """Tell the browser to forget the session cookie."""
        response.delete_cookie(self.cookie_name, path="/", secure=self.secure, httponly=True, samesite="lax")
