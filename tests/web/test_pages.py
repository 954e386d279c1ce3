"""The HTML pages through the app (no browser): what they show, who may see them, the no-JS form path."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from fastapi import FastAPI
from web_helpers import context_of, log_in

from zilean.core.track import Track
from zilean.db import Database
from zilean.db.records import GuildInfo, MemberInfo, PlayerState
from zilean.web.pages.views import QUEUE_PAGE

GUILD = 4_100_000_000_000_000_001
MEMBER = 71
STRANGER = 72


async def publish_guild(db: Database, *members: int) -> None:
    """The bot's directory: one guild with these members."""
    await db.directory.replace_guild(
        GuildInfo(guild_id=GUILD, name="Music Club"),
        [],
        [],
        [MemberInfo(guild_id=GUILD, user_id=m, name=f"user{m}", display_name=f"User {m}") for m in members],
    )


def scripts_are_external(html: str) -> bool:
    """Every <script> has a src and no body; no inline handlers or style attributes (the CSP forbids them)."""
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    inline_attr = re.search(r"\s(on[a-z]+|style)=", html)
    return all("src=" in attrs and not body.strip() for attrs, body in scripts) and inline_attr is None


async def test_the_start_page_offers_login_and_fits_the_csp(client: httpx.AsyncClient) -> None:
    response = await client.get("/")
    assert response.status_code == 200
    assert 'href="/login"' in response.text and "Login with Discord" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert scripts_are_external(response.text)


async def test_guilds_lists_shared_servers_only_for_members(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish_guild(db, MEMBER)
    await db.player_state.save(PlayerState(guild_id=GUILD, track=Track("Tone 440", "local:t.flac", "local")))
    await log_in(app, client, MEMBER)
    page = (await client.get("/guilds")).text
    assert f'href="/guilds/{GUILD}"' in page and "Music Club" in page and "Tone 440" in page
    await log_in(app, client, STRANGER)
    assert f"/guilds/{GUILD}" not in (await client.get("/guilds")).text


async def test_logged_out_guilds_redirects_to_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/guilds")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


async def test_the_player_is_404_for_non_members_and_for_a_member_who_left(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = context_of(app).db
    await publish_guild(db, MEMBER)
    await log_in(app, client, STRANGER)
    assert (await client.get(f"/guilds/{GUILD}")).status_code == 404
    assert (await client.get(f"/guilds/{GUILD}/live")).status_code == 404
    await log_in(app, client, MEMBER)
    assert (await client.get(f"/guilds/{GUILD}")).status_code == 200
    await publish_guild(db)  # the member left; the bot's view no longer has them
    assert (await client.get(f"/guilds/{GUILD}")).status_code == 404
    assert (await client.get("/guilds/not-a-number")).status_code == 404


async def test_the_player_shows_state_and_every_control(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish_guild(db, MEMBER)
    track = Track(
        "Tone <440>", "https://example.org/t", "http", 30_000, artist="Generator", requester_id=MEMBER
    )
    await db.player_state.save(
        PlayerState(guild_id=GUILD, track=track, position_ms=5_000, paused=True, volume=150, effects=("8d",))
    )
    await log_in(app, client, MEMBER)
    page = (await client.get(f"/guilds/{GUILD}")).text
    assert "Tone &lt;440&gt;" in page and "Tone <440>" not in page  # escaped
    assert 'href="https://example.org/t"' in page and "Requested by User " + str(MEMBER) in page
    assert 'data-paused="true"' in page and 'aria-label="Resume"' in page
    assert 'value="150"' in page and 'value="8d" aria-pressed="true"' in page
    assert page.count('name="toggle"') == 17
    for control in ("previous", "resume", "skip", "stop", "shuffle", "seek", "volume", "loop", "effect"):
        assert f'action="/guilds/{GUILD}/do/{control}"' in page, control
    assert 'sse-connect="/guilds/' in page and "The bot is offline" in page
    assert scripts_are_external(page)


async def test_a_10000_entry_queue_renders_one_page_and_loads_the_rest_on_scroll(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = context_of(app).db
    await publish_guild(db, MEMBER)
    tracks = [
        Track(f"Song number {i:05d} by someone", f"local:s{i}.flac", "local", 180_000) for i in range(10_000)
    ]
    await db.queue.append(GUILD, tracks)
    await log_in(app, client, MEMBER)
    response = await client.get(f"/guilds/{GUILD}")
    page = response.text
    assert page.count('class="qe"') == QUEUE_PAGE
    assert "10000 tracks" in page and "500:00:00" in page
    assert len(response.content) <= 100_000, len(response.content)
    assert f'hx-get="/guilds/{GUILD}/queue?offset={QUEUE_PAGE}"' in page
    without_js = (await client.get(f"/guilds/{GUILD}", params={"queue_offset": QUEUE_PAGE})).text
    assert '<span class="pos">51</span>' in without_js and '<span class="pos">1</span>' not in without_js
    more = (await client.get(f"/guilds/{GUILD}/queue", params={"offset": 9_990})).text
    assert more.count('class="qe"') == 10 and "Song number 09999" in more and "hx-get" not in more


async def test_without_javascript_a_control_posts_and_redirects_back_with_the_answer(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = context_of(app).db
    await publish_guild(db, MEMBER)
    token = await log_in(app, client, MEMBER)
    refused = await client.post(f"/guilds/{GUILD}/do/pause")
    assert refused.status_code == 403  # no CSRF token
    response = await client.post(f"/guilds/{GUILD}/do/pause", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"/guilds/{GUILD}?said=")
    page = (await client.get(response.headers["location"])).text
    assert "the bot is offline" in page  # no bot runs in this test
    htmx = await client.post(
        f"/guilds/{GUILD}/do/volume",
        data={"volume": "120"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert htmx.status_code == 503 and '"toast"' in htmx.headers["hx-trigger"]


def test_static_weight_is_within_budget() -> None:
    import gzip

    static = Path(__file__).parents[2] / "src/zilean/web/static"
    files = [
        static / "app.css",
        static / "app.js",
        static / "vendor/htmx.min.js",
        static / "vendor/sse.min.js",
    ]
    total = sum(len(gzip.compress(f.read_bytes(), 9)) for f in files)
    assert total <= 60 * 1024, total


async def test_an_autoplay_track_is_marked_and_has_no_requester(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = context_of(app).db
    await publish_guild(db, MEMBER)
    track = Track(
        "River Two", "local:tagged/river2.flac", "local", 8_000, artist="Aurora Quartet", autoplay=True
    )
    await db.player_state.save(PlayerState(guild_id=GUILD, track=track, position_ms=1_000))
    await log_in(app, client, MEMBER)
    page = (await client.get(f"/guilds/{GUILD}")).text
    assert 'class="badge autoplay"' in page and "Autoplay: a related track" in page
    assert "Requested by" not in page
