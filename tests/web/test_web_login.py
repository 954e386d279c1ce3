"""Logging in through the sandbox's OAuth2 (as Discord's): the happy path and every way it can go wrong."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update
from web_helpers import (
    BASE_URL,
    authorize_at_sandbox,
    client_for,
    context_of,
    sandbox_login,
    sandbox_web_settings,
)

from zilean.db import Database, schema
from zilean.db.bus import Bus
from zilean.db.connector import utcnow
from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.web.app import create_app


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox (no voice needed) that knows the dashboard's redirect URI."""
    async with Sandbox(config=SandboxConfig(voice=False, redirect_uris=[f"{BASE_URL}/callback"])) as running:
        yield running


@pytest.fixture
async def sandbox_http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """The person's browser talking to Discord (the sandbox)."""
    async with httpx.AsyncClient(base_url=sandbox.base_url, timeout=30) as http:
        yield http


@contextlib.asynccontextmanager
async def make_app(
    sandbox: Sandbox, database: Database, bus: Bus, db_url: str, tmp: Path, **overrides: Any
) -> AsyncIterator[FastAPI]:
    application = create_app(sandbox_web_settings(sandbox, db_url, tmp, **overrides), database, bus)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def app(
    sandbox: Sandbox, database: Database, web_bus: Bus, db_url: str, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    async with make_app(sandbox, database, web_bus, db_url, tmp_path) as application:
        yield application


def grant_of(sandbox: Sandbox, app: FastAPI, encrypted: str | None) -> Any:
    token = context_of(app).cipher.decrypt(encrypted)
    assert token is not None
    return sandbox.oauth.grants.get(token)


async def test_login_through_discord_starts_a_session(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    owner = sandbox.world.user_named("owner")
    started = await client.get("/login")
    location = started.headers["location"]
    assert location.startswith(f"{sandbox.base_url}/oauth2/authorize?")  # the origin of DISCORD_API_BASE
    assert "code_challenge_method=S256" in location and "scope=identify+guilds" in location
    assert f"redirect_uri={BASE_URL.replace(':', '%3A').replace('/', '%2F')}%2Fcallback" in location
    login_cookie = started.headers["set-cookie"]
    assert login_cookie.startswith("zilean_login=") and "HttpOnly" in login_cookie
    done = await client.get(await authorize_at_sandbox(sandbox_http, location, owner.id))
    assert done.status_code == 303 and done.headers["location"] == "/guilds"
    assert context_of(app).sessions.cookie_name in done.headers["set-cookie"]
    me = await client.get("/api/servers")
    assert me.status_code == 200
    user = await context_of(app).sessions.load(client.cookies.get(context_of(app).sessions.cookie_name))
    assert user is not None and user.id == owner.id
    grant = grant_of(sandbox, app, user.session.access_token_enc)
    assert grant is not None and grant.user_id == owner.id and not grant.revoked
    assert {g["id"] for g in user.session.discord_guilds} == {str(g) for g in sandbox.world.guilds}


async def test_a_replayed_state_is_refused(
    client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    started = await client.get("/login")
    callback = await authorize_at_sandbox(
        sandbox_http, started.headers["location"], sandbox.world.user_named("bob").id
    )
    assert (await client.get(callback)).status_code == 303
    client.cookies.clear()
    client.cookies.set("zilean_login", started.cookies["zilean_login"])
    again = await client.get(callback)
    assert again.status_code == 400
    assert "already used" in again.text and 'href="/login"' in again.text
    assert (await client.get("/api/servers")).status_code == 401


async def test_a_state_from_another_browser_is_refused(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    """Login CSRF: an attacker's half-done login, sent to a victim's browser, does not log the victim in."""
    started = await client.get("/login")
    callback = await authorize_at_sandbox(
        sandbox_http, started.headers["location"], sandbox.world.user_named("bob").id
    )
    async with client_for(app) as victim:
        answer = await victim.get(callback)
        assert answer.status_code == 400 and "another browser" in answer.text
        assert (await victim.get("/api/servers")).status_code == 401
    # and the state is spent: the attacker's own browser cannot use it afterwards either
    assert (await client.get(callback)).status_code == 400


async def test_an_unknown_or_missing_state_is_refused(client: httpx.AsyncClient) -> None:
    for query in ("?code=abc&state=made-up", "?code=abc"):
        answer = await client.get("/callback" + query)
        assert answer.status_code == 400
        assert "Try again" in answer.text and "Traceback" not in answer.text


async def test_a_late_callback_is_refused(
    database: Database, client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    started = await client.get("/login")
    callback = await authorize_at_sandbox(
        sandbox_http, started.headers["location"], sandbox.world.user_named("bob").id
    )
    async with database.connector.write() as conn:
        await conn.execute(update(schema.web_login_states).values(expires_at=utcnow()))
    answer = await client.get(callback)
    assert answer.status_code == 400 and "longer than 10 minutes" in answer.text


async def test_denied_consent_says_so(
    client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    answer = await sandbox_login(client, sandbox_http, sandbox.world.user_named("alice").id, consent=False)
    assert answer.status_code == 400
    assert "did not authorise" in answer.text and 'href="/login"' in answer.text
    assert (await client.get("/api/servers")).status_code == 401


async def test_a_failed_token_exchange_is_a_page_not_a_traceback(
    sandbox: Sandbox,
    sandbox_http: httpx.AsyncClient,
    database: Database,
    web_bus: Bus,
    db_url: str,
    tmp_path: Path,
) -> None:
    async with (
        make_app(sandbox, database, web_bus, db_url, tmp_path, discord_client_secret="wrong") as app,
        client_for(app) as browser,
    ):
        answer = await sandbox_login(browser, sandbox_http, sandbox.world.user_named("alice").id)
        assert answer.status_code == 502
        assert "did not accept this login" in answer.text and 'href="/login"' in answer.text
        assert (await browser.get("/api/servers")).status_code == 401


async def test_every_login_gets_a_fresh_session_id(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    name = context_of(app).sessions.cookie_name
    dj = sandbox.world.user_named("dj").id
    await sandbox_login(client, sandbox_http, dj)
    first = client.cookies.get(name)
    await sandbox_login(client, sandbox_http, dj)
    second = client.cookies.get(name)
    assert first and second and first != second
    assert await context_of(app).sessions.load(first) is None  # the old one is gone, not just replaced


async def test_logout_revokes_the_discord_token(
    app: FastAPI, client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    await sandbox_login(client, sandbox_http, sandbox.world.user_named("dj").id)
    sessions = context_of(app).sessions
    old = client.cookies.get(sessions.cookie_name)
    user = await sessions.load(old)
    assert user is not None
    grant = grant_of(sandbox, app, user.session.access_token_enc)
    assert sandbox.oauth.bearer_valid(grant.access_token)
    answer = await client.post("/logout", headers={"X-CSRF-Token": user.csrf_token})
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert grant.revoked and not sandbox.oauth.bearer_valid(grant.access_token)
    client.cookies.set(sessions.cookie_name, str(old))
    assert (await client.get("/api/servers")).status_code == 401


async def test_next_only_goes_to_local_paths(
    client: httpx.AsyncClient, sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    bob = sandbox.world.user_named("bob").id
    answer = await sandbox_login(client, sandbox_http, bob, next_path="//evil.example/x")
    assert answer.headers["location"] == "/guilds"
    answer = await sandbox_login(client, sandbox_http, bob, next_path="/api/servers")
    assert answer.headers["location"] == "/api/servers"


async def test_logins_are_rate_limited_per_address(
    sandbox: Sandbox, database: Database, web_bus: Bus, db_url: str, tmp_path: Path
) -> None:
    async with (
        make_app(sandbox, database, web_bus, db_url, tmp_path, rate_limit_logins_per_min=2) as app,
        client_for(app) as browser,
    ):
        assert [(await browser.get("/login")).status_code for _ in range(2)] == [303, 303]
        limited = await browser.get("/login")
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        assert "Too many logins" in limited.text


async def test_an_expired_discord_token_is_refreshed_when_the_dashboard_needs_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    sandbox: Sandbox,
    sandbox_http: httpx.AsyncClient,
    database: Database,
) -> None:
    await sandbox_login(client, sandbox_http, sandbox.world.user_named("owner").id)
    sessions = context_of(app).sessions
    raw = client.cookies.get(sessions.cookie_name)
    user = await sessions.load(raw)
    assert user is not None
    old = grant_of(sandbox, app, user.session.access_token_enc)
    async with database.connector.write() as conn:  # Discord's 7 days are over
        await conn.execute(update(schema.web_sessions).values(token_expires_at=utcnow(), discord_guilds=[]))
    token = client.headers.get("X-CSRF-Token") or user.csrf_token
    answer = await client.post("/api/me/discord-guilds", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["count"] == len(sandbox.world.guilds)
    fresh = await sessions.load(raw)
    assert fresh is not None and fresh.session.access_token_enc != user.session.access_token_enc
    new = grant_of(sandbox, app, fresh.session.access_token_enc)
    assert new is not None and not new.revoked and old.revoked  # the refresh replaced the grant
    assert fresh.session.token_expires_at is not None and fresh.session.token_expires_at > utcnow()
    assert len(fresh.session.discord_guilds) == len(sandbox.world.guilds)
    me = (await client.get("/api/me")).json()
    assert me["id"] == str(sandbox.world.user_named("owner").id)
