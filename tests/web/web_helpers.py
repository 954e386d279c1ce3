"""Helpers for the dashboard tests: settings, an app on a Database and Bus, a logged-in client."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from zilean.config import Settings
from zilean.web.context import WebContext

BASE_URL = "http://dashboard.test"


def web_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    """Settings for a dashboard under test (no .env read)."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "web_base_url": BASE_URL,
        "secret_key": "test-secret-key-that-is-long-enough-0123456789",
        "discord_client_id": "1",
        "discord_client_secret": "s",
        "log_dir": tmp / "logs",
        "lyrics_api_base": "",  # the player page's lyrics panel never reaches lrclib.net from a test
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def context_of(app: FastAPI) -> WebContext:
    """The app's WebContext."""
    context: WebContext = app.state.web
    return context


def client_for(app: FastAPI, base_url: str = BASE_URL) -> httpx.AsyncClient:
    """An httpx client talking to the app in-process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url, timeout=30)


async def log_in(app: FastAPI, client: httpx.AsyncClient, user_id: int, name: str = "tester") -> str:
    """Start a session for `user_id` as a login would and give `client` its cookie; returns the CSRF token."""
    sessions = context_of(app).sessions
    raw = await sessions.start(user_id, name, None, None)
    client.cookies.set(sessions.cookie_name, raw)
    user = await sessions.load(raw)
    assert user is not None
    return user.csrf_token


def sandbox_web_settings(sandbox: Any, database_url: str, tmp: Path, **overrides: Any) -> Settings:
    """Dashboard settings whose Discord is the sandbox (its OAuth2 app, REST and token endpoints)."""
    values = {
        "discord_api_base": sandbox.api_base,
        "discord_client_id": str(sandbox.world.application_id),
        "discord_client_secret": sandbox.config.client_secret,
        **overrides,
    }
    return web_settings(database_url, tmp, **values)


async def sandbox_login(
    browser: httpx.AsyncClient,
    sandbox_http: httpx.AsyncClient,
    user_id: int,
    *,
    consent: bool = True,
    next_path: str | None = None,
) -> httpx.Response:
    """Log in as a person would: /login, the sandbox's consent page, back to /callback (its response)."""
    started = await browser.get("/login", params={"next": next_path} if next_path else None)
    assert started.status_code == 303, started.text
    callback_url = await authorize_at_sandbox(
        sandbox_http, started.headers["location"], user_id, consent=consent
    )
    return await browser.get(callback_url)


async def authorize_at_sandbox(
    sandbox_http: httpx.AsyncClient, authorize_url: str, user_id: int, *, consent: bool = True
) -> str:
    """Load Discord's (the sandbox's) consent page and answer it; returns the redirect back to us."""
    page = await sandbox_http.get(authorize_url)
    assert page.status_code == 200, page.text
    form = {
        k: html.unescape(v)
        for k, v in re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', page.text)
    }
    form.update(user_id=str(user_id), action="authorize" if consent else "cancel")
    answer = await sandbox_http.post("/oauth2/authorize", data=form)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(BASE_URL + "/callback?"), location
    return location.removeprefix(BASE_URL)


async def seat(database: Any, guild_id: int, *user_ids: int, name: str = "Test Guild") -> None:
    """Publish a guild with these members to the directory, as the bot would."""
    from zilean.db.records import GuildInfo, MemberInfo

    members = [MemberInfo(guild_id, uid, f"user{uid}", f"User {uid}") for uid in user_ids]
    await database.directory.replace_guild(GuildInfo(guild_id, name), [], [], members)


def csrf(token: str) -> dict[str, str]:
    """The header a page's htmx (or a script) sends with every POST."""
    return {"X-CSRF-Token": token}


class SseReader:
    """Reads Server-Sent Events from a streaming httpx response: (event, id, data) per message."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, within_s: float = 20.0) -> tuple[str, str | None, str]:
        """The next message (comments and pings skipped); TimeoutError if none comes within the bound."""
        import asyncio

        event, event_id, data = "message", None, []
        async with asyncio.timeout(within_s):
            async for line in self.lines:
                if not line:
                    if data:
                        return event, event_id, "\n".join(data)
                    event, event_id, data = "message", None, []
                    continue
                if line.startswith(":"):
                    continue
                field, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if field == "event":
                    event = value
                elif field == "id":
                    event_id = value
                elif field == "data":
                    data.append(value)
        raise EOFError("the stream ended")
