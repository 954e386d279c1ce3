"""Sessions: 128-bit ids stored hashed, idle and absolute expiry, a fresh id per login, logout deletes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from starlette.responses import Response
from web_helpers import client_for, context_of, log_in, web_settings

from zilean.db import Database, schema
from zilean.db.bus import Bus
from zilean.db.connector import utcnow
from zilean.web.app import create_app
from zilean.web.crypto import TokenCipher, digest
from zilean.web.sessions import DiscordTokens


async def _rows(database: Database) -> list[dict[str, object]]:
    async with database.connector.read() as conn:
        return [dict(row) for row in (await conn.execute(select(schema.web_sessions))).mappings()]


async def _set(database: Database, **values: object) -> None:
    async with database.connector.write() as conn:
        await conn.execute(update(schema.web_sessions).values(**values))


async def test_the_database_holds_only_the_hash_of_a_128_bit_id(app: FastAPI, database: Database) -> None:
    sessions = context_of(app).sessions
    raw = await sessions.start(7, "seven", None, None)
    assert len(raw) >= 22  # 16 random bytes, URL-safe base64
    rows = await _rows(database)
    assert [row["id"] for row in rows] == [digest(raw)]
    assert raw not in str(rows)
    assert (await sessions.load(raw)) is not None
    assert await sessions.load(digest(raw)) is None  # the stored value opens nothing


async def test_discord_tokens_are_stored_encrypted(app: FastAPI, database: Database) -> None:
    sessions = context_of(app).sessions
    tokens = DiscordTokens("access-secret-value", "refresh-secret-value", utcnow() + timedelta(days=7))
    raw = await sessions.start(7, "seven", None, tokens)
    (row,) = await _rows(database)
    assert "access-secret-value" not in str(row) and "refresh-secret-value" not in str(row)
    user = await sessions.load(raw)
    assert user is not None
    cipher = context_of(app).cipher
    assert cipher.decrypt(user.session.access_token_enc) == "access-secret-value"
    # another SECRET_KEY cannot read them
    assert (
        TokenCipher("some-other-secret-key-0123456789abcdef").decrypt(user.session.access_token_enc) is None
    )


async def test_an_idle_session_expires(app: FastAPI, database: Database) -> None:
    sessions = context_of(app).sessions
    raw = await sessions.start(7, "seven", None, None)
    await _set(database, expires_at=utcnow() - timedelta(seconds=1))
    assert await sessions.load(raw) is None
    assert await _rows(database) == []  # and it is gone


async def test_use_slides_the_idle_expiry_but_never_past_the_absolute_one(
    app: FastAPI, database: Database
) -> None:
    sessions = context_of(app).sessions
    raw = await sessions.start(7, "seven", None, None)
    soon = utcnow() + timedelta(hours=1)
    await _set(database, expires_at=soon, last_seen_at=utcnow() - timedelta(hours=2))
    assert await sessions.load(raw) is not None
    (row,) = await _rows(database)
    slid = row["expires_at"]
    assert isinstance(slid, type(soon))
    assert slid.replace(tzinfo=soon.tzinfo) > soon + timedelta(days=6)  # ≈ now + 7 days
    # a session older than the absolute lifetime is over, however recently it was used
    await _set(database, created_at=utcnow() - timedelta(days=31), expires_at=utcnow() + timedelta(days=7))
    assert await sessions.load(raw) is None


def test_expiry_is_the_sooner_of_idle_and_absolute(app: FastAPI) -> None:
    sessions = context_of(app).sessions
    now = utcnow()
    assert sessions.expiry(now, now) == now + timedelta(days=7)
    created = now - timedelta(days=28)
    assert sessions.expiry(created, now) == created + timedelta(days=30)


async def test_logout_deletes_the_session_and_the_old_cookie_opens_nothing(
    app: FastAPI, client: httpx.AsyncClient, database: Database
) -> None:
    token = await log_in(app, client, 7)
    assert (await client.get("/api/servers")).status_code == 200
    old_cookie = client.cookies.get(context_of(app).sessions.cookie_name)
    response = await client.post("/logout", headers={"X-CSRF-Token": token, "Accept": "application/json"})
    assert response.status_code == 200
    assert await _rows(database) == []
    assert (
        "zilean_session=" in response.headers["set-cookie"] and "Max-Age=0" in response.headers["set-cookie"]
    )
    client.cookies.set(context_of(app).sessions.cookie_name, str(old_cookie))
    assert (await client.get("/api/servers")).status_code == 401


async def test_logout_needs_the_csrf_token(
    app: FastAPI, client: httpx.AsyncClient, database: Database
) -> None:
    await log_in(app, client, 7)
    assert (await client.post("/logout")).status_code == 403
    assert len(await _rows(database)) == 1


def test_cookie_flags_on_plain_http(app: FastAPI) -> None:
    out = Response()
    context_of(app).sessions.set_cookie(out, "value")
    header = out.headers["set-cookie"]
    assert header.startswith("zilean_session=value")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Secure" not in header


async def test_https_gives_a_secure_host_prefixed_cookie_and_hsts(
    database: Database, web_bus: Bus, db_url: str, tmp_path: Path
) -> None:
    app = create_app(web_settings(db_url, tmp_path, web_base_url="https://dash.example"), database, web_bus)
    out = Response()
    context_of(app).sessions.set_cookie(out, "value")
    header = out.headers["set-cookie"]
    assert header.startswith("__Host-zilean_session=value")
    assert "Secure" in header and "Path=/" in header and "Domain" not in header
    async with app.router.lifespan_context(app), client_for(app, "https://dash.example") as http:
        response = await http.get("/api/servers")
    assert response.headers["strict-transport-security"].startswith("max-age=")
