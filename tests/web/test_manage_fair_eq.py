"""The settings page and API show the fair-queue setting and the equalizer (without a bot: both backends)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from test_manage_api import GUILD, OWNER, api, publish
from web_helpers import context_of, csrf, log_in


async def test_fair_queue_on_the_settings_page_and_api(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish(db)
    await db.guild_settings.update(GUILD, eq={"100": 6, "1000": -3}, fair_queue=True)
    token = await log_in(app, client, OWNER)
    page = (await client.get(f"/guilds/{GUILD}/settings")).text
    assert 'id="fair_queue" name="fair_queue" type="checkbox" checked' in page
    assert "Equalizer: <strong>100 Hz +6, 1k Hz -3 dB</strong>" in page
    current = (await client.get(api("/settings"))).json()
    assert current["fair_queue"] is True
    # Left out of a PUT: unchanged (older clients); the same value: nothing to send.
    older = {key: value for key, value in current.items() if key != "fair_queue"}
    assert (await client.put(api("/settings"), json=older, headers=csrf(token))).json()["message"] == (
        "Nothing changed."
    )
    # A change goes to the bot (offline here: 503, so it was sent, not dropped).
    off = await client.put(api("/settings"), json={**current, "fair_queue": False}, headers=csrf(token))
    assert off.status_code == 503 and "offline" in off.json()["error"]
    await db.guild_settings.update(GUILD, eq={}, fair_queue=False)
    page = (await client.get(f"/guilds/{GUILD}/settings")).text
    assert 'id="fair_queue" name="fair_queue" type="checkbox" aria' in page
    assert "Equalizer: <strong>flat</strong>" in page
