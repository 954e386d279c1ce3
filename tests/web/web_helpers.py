"""Helpers for the dashboard tests: settings, an app on a Database and Bus, a logged-in client."""

from __future__ import annotations

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
