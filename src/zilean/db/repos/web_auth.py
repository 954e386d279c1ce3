"""Dashboard users, sessions and OAuth2 login states. Secrets arrive hashed or encrypted by the web layer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from zilean.db import schema
from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import LoginState, WebSession

_s = schema.web_sessions.c
_u = schema.users.c
_l = schema.web_login_states.c


class UserRepo:
    """Who has logged in to the dashboard (name and avatar as Discord gave them at login)."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def upsert(self, discord_id: int, username: str, avatar: str | None) -> None:
        """Create or refresh the user row at login."""
        now = utcnow()
        values = {
            "discord_id": discord_id,
            "username": username[:100],
            "avatar": avatar,
            "created_at": now,
            "last_login_at": now,
        }
        stmt = self._db.upsert(schema.users, values, ["discord_id"], ["username", "avatar", "last_login_at"])
        async with self._db.write() as conn:
            await conn.execute(stmt)


class WebSessionRepo:
    """Server-side sessions: created at login, slid on use, deleted at logout or expiry."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def create(
        self,
        id_hash: str,
        user_id: int,
        csrf_token: str,
        expires_at: datetime,
        *,
        access_token_enc: str | None = None,
        refresh_token_enc: str | None = None,
        token_expires_at: datetime | None = None,
        discord_guilds: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Store a new session (its user row must exist)."""
        now = utcnow()
        async with self._db.write() as conn:
            await conn.execute(
                insert(schema.web_sessions).values(
                    id=id_hash,
                    user_id=user_id,
                    csrf_token=csrf_token,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                    access_token_enc=access_token_enc,
                    refresh_token_enc=refresh_token_enc,
                    token_expires_at=token_expires_at,
                    discord_guilds=list(discord_guilds),
                )
            )

    async def get(self, id_hash: str) -> WebSession | None:
        """The session with this id hash, expired or not (the caller decides), unless revoked."""
        stmt = (
            select(schema.web_sessions, _u.username, _u.avatar)
            .join(schema.users, _u.discord_id == _s.user_id)
            .where(_s.id == id_hash, _s.revoked.is_(False))
        )
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _session(row)

    async def touch(self, id_hash: str, last_seen_at: datetime, expires_at: datetime) -> None:
        """Record use: the idle expiry moves forward."""
        stmt = update(schema.web_sessions).where(_s.id == id_hash)
        async with self._db.write() as conn:
            await conn.execute(stmt.values(last_seen_at=last_seen_at, expires_at=expires_at))

    async def set_tokens(
        self, id_hash: str, access_token_enc: str, refresh_token_enc: str | None, token_expires_at: datetime
    ) -> None:
        """Store refreshed Discord tokens."""
        values = {
            "access_token_enc": access_token_enc,
            "refresh_token_enc": refresh_token_enc,
            "token_expires_at": token_expires_at,
        }
        async with self._db.write() as conn:
            await conn.execute(update(schema.web_sessions).where(_s.id == id_hash).values(**values))

    async def set_discord_guilds(self, id_hash: str, discord_guilds: Sequence[dict[str, Any]]) -> None:
        """Store a fresh /users/@me/guilds answer for the session."""
        stmt = update(schema.web_sessions).where(_s.id == id_hash).values(discord_guilds=list(discord_guilds))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def delete(self, id_hash: str) -> WebSession | None:
        """Delete the session; returns what it held (the tokens to revoke), None if there was none."""
        found = await self.get(id_hash)
        async with self._db.write() as conn:
            await conn.execute(delete(schema.web_sessions).where(_s.id == id_hash))
        return found

    async def delete_expired(self, now: datetime | None = None) -> int:
        """Delete sessions past their expiry; returns how many."""
        async with self._db.write() as conn:
            result = await conn.execute(delete(schema.web_sessions).where(_s.expires_at <= (now or utcnow())))
        return int(result.rowcount)


class LoginStateRepo:
    """OAuth2 `state` values in flight, each usable once."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def add(
        self,
        state_hash: str,
        browser_hash: str,
        verifier_enc: str,
        next_path: str | None,
        expires_at: datetime,
    ) -> None:
        """Remember a login that was just sent to Discord."""
        async with self._db.write() as conn:
            await conn.execute(
                insert(schema.web_login_states).values(
                    state_hash=state_hash,
                    browser_hash=browser_hash,
                    verifier_enc=verifier_enc,
                    next_path=next_path,
                    created_at=utcnow(),
                    expires_at=expires_at,
                )
            )

    async def take(self, state_hash: str) -> LoginState | None:
        """Remove and return the login with this state (None if unknown or already used)."""
        stmt = (
            delete(schema.web_login_states)
            .where(_l.state_hash == state_hash)
            .returning(*schema.web_login_states.c)
        )
        async with self._db.write() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        if row is None:
            return None
        expires_at = as_utc(row["expires_at"])
        assert expires_at is not None
        return LoginState(
            state_hash=row["state_hash"],
            browser_hash=row["browser_hash"],
            verifier_enc=row["verifier_enc"],
            next_path=row["next_path"],
            expires_at=expires_at,
        )

    async def delete_expired(self, now: datetime | None = None) -> int:
        """Forget logins nobody finished."""
        async with self._db.write() as conn:
            result = await conn.execute(
                delete(schema.web_login_states).where(_l.expires_at <= (now or utcnow()))
            )
        return int(result.rowcount)


def _session(row: Any) -> WebSession:
    created_at, expires_at = as_utc(row["created_at"]), as_utc(row["expires_at"])
    assert created_at is not None and expires_at is not None
    return WebSession(
        id_hash=row["id"],
        user_id=int(row["user_id"]),
        username=row["username"],
        avatar=row["avatar"],
        csrf_token=row["csrf_token"],
        created_at=created_at,
        expires_at=expires_at,
        last_seen_at=as_utc(row["last_seen_at"]),
        access_token_enc=row["access_token_enc"],
        refresh_token_enc=row["refresh_token_enc"],
        token_expires_at=as_utc(row["token_expires_at"]),
        discord_guilds=tuple(row["discord_guilds"] or ()),
    )
