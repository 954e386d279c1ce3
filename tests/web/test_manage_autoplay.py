"""The settings page and API show the autoplay setting and send changes to the bot (both backends)."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from test_manage_api import GUILD, OWNER, api, publish
from web_helpers import context_of, csrf, log_in


async def test_autoplay_on_the_settings_page_and_api(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish(db)
    await db.guild_settings.update(GUILD, autoplay=True)
    token = await log_in(app, client, OWNER)
    page = (await client.get(f"/guilds/{GUILD}/settings")).text
    assert 'id="autoplay" name="autoplay" type="checkbox" checked' in page
    current = (await client.get(api("/settings"))).json()
    assert current["autoplay"] is True
    older = {key: value for key, value in current.items() if key != "autoplay"}  # left out: unchanged
    same = await client.put(api("/settings"), json=older, headers=csrf(token))
    assert same.json()["message"] == "Nothing changed."
    off = await client.put(api("/settings"), json={**current, "autoplay": False}, headers=csrf(token))
    assert off.status_code == 503 and "offline" in off.json()["error"]  # sent to the (offline) bot
    await db.guild_settings.update(GUILD, autoplay=False)
    page = (await client.get(f"/guilds/{GUILD}/settings")).text
    assert 'id="autoplay" name="autoplay" type="checkbox" aria' in page
