"""The player page's lyrics panel (GET /guilds/{id}/lyrics) against a local fake of lrclib over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from test_pages import GUILD, MEMBER, STRANGER, publish_guild, scripts_are_external
from web_helpers import client_for, context_of, log_in, web_settings

from fakes.lrclib import FakeLrclib, record, running
from zilean.core.track import Track
from zilean.db import Database
from zilean.db.bus import Bus
from zilean.db.records import PlayerState
from zilean.web.app import create_app

SYNCED = "[00:01.50]Tick <b>bold</b>\n[00:03.00]\n[00:04.25]Tock"
CLOCKWORK = Track("Clockwork (Official Video)", "https://v.example/1", "http", 30_000, artist="Zilean Band")


@pytest.fixture
def lrclib() -> Iterator[FakeLrclib]:
    with running(FakeLrclib()) as fake:
        fake.records.append(record(1, "Clockwork", "Zilean Band", duration=30, plain="Tick", synced=SYNCED))
        fake.records.append(record(2, "Plain Song", "Zilean Band", duration=60, plain="One\nTwo <i>"))
        yield fake


@pytest.fixture
async def lyrics_app(
    database: Database, web_bus: Bus, db_url: str, tmp_path: Path, lrclib: FakeLrclib
) -> AsyncIterator[FastAPI]:
    application = create_app(
        web_settings(db_url, tmp_path, lyrics_api_base=lrclib.base_url), database, web_bus
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def member(lyrics_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(lyrics_app) as http:
        await publish_guild(context_of(lyrics_app).db, MEMBER)
        await log_in(lyrics_app, http, MEMBER)
        yield http


async def test_the_player_page_loads_the_panel_without_inline_script(
    member: httpx.AsyncClient, client: httpx.AsyncClient, app: FastAPI
) -> None:
    page = (await member.get(f"/guilds/{GUILD}")).text
    assert f'hx-get="/guilds/{GUILD}/lyrics"' in page and 'id="lyrics-head"' in page
    assert scripts_are_external(page)
    # With LYRICS_API_BASE empty (as `app` has it) there is no panel to load.
    await log_in(app, client, MEMBER)
    assert "/lyrics" not in (await client.get(f"/guilds/{GUILD}")).text


async def test_synced_lyrics_are_lines_with_their_times(
    lyrics_app: FastAPI, member: httpx.AsyncClient, lrclib: FakeLrclib
) -> None:
    assert "Nothing playing" in (await member.get(f"/guilds/{GUILD}/lyrics")).text
    assert lrclib.requests == []
    await context_of(lyrics_app).db.player_state.save(PlayerState(guild_id=GUILD, track=CLOCKWORK))
    response = await member.get(f"/guilds/{GUILD}/lyrics")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert "data-lyrics-synced" in response.text
    assert '<li data-ms="1500">Tick &lt;b&gt;bold&lt;/b&gt;</li>' in response.text  # escaped, not markup
    assert '<li data-ms="3000">♪</li>' in response.text and '<li data-ms="4250">Tock</li>' in response.text
    assert lrclib.requests[0].query == {
        "track_name": "Clockwork",
        "artist_name": "Zilean Band",
        "duration": "30",
    }
    await member.get(f"/guilds/{GUILD}/lyrics")
    assert len(lrclib.requests) == 1  # the dashboard remembers the answer


async def test_plain_lyrics_and_failures(
    lyrics_app: FastAPI, member: httpx.AsyncClient, lrclib: FakeLrclib
) -> None:
    db = context_of(lyrics_app).db
    plain = Track("Plain Song", "local:plain.flac", "local", 60_000, artist="Zilean Band")
    await db.player_state.save(PlayerState(guild_id=GUILD, track=plain))
    text = (await member.get(f"/guilds/{GUILD}/lyrics")).text
    assert '<div class="lyrics-plain" tabindex="0">One\nTwo &lt;i&gt;</div>' in text
    assert "data-lyrics-synced" not in text
    await db.player_state.save(
        PlayerState(guild_id=GUILD, track=Track("Nobody Knows", "local:n.flac", "local"))
    )
    assert "No lyrics found" in (await member.get(f"/guilds/{GUILD}/lyrics")).text
    lrclib.status = 502
    await db.player_state.save(PlayerState(guild_id=GUILD, track=Track("Other", "local:o.flac", "local")))
    failed = await member.get(f"/guilds/{GUILD}/lyrics")
    assert failed.status_code == 200 and "answered with an error (502)" in failed.text


async def test_the_panel_is_for_members_only(lyrics_app: FastAPI, member: httpx.AsyncClient) -> None:
    await log_in(lyrics_app, member, STRANGER)
    assert (await member.get(f"/guilds/{GUILD}/lyrics")).status_code == 404
