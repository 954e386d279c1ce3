"""The control API and page refuse other sites' browsers: Host allow-list, Origin, JSON, optional key."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest

from zilean.sandbox import Sandbox
from zilean.sandbox.server import SandboxConfig


@pytest.fixture
async def keyed() -> AsyncIterator[Sandbox]:
    async with Sandbox(config=SandboxConfig(voice=False, control_key="per-run-key")) as running:
        yield running


def message_body(sandbox: Sandbox) -> dict[str, str]:
    world = sandbox.world
    return {
        "channel_id": str(world.channel_named("general").id),
        "user_id": str(world.user_named("bob").id),
        "content": "hello",
    }


async def test_other_host_names_are_refused(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    port = sandbox.base_url.rsplit(":", 1)[1]
    rebound = await sandbox_http.get("/_sandbox/state", headers={"Host": f"evil.example:{port}"})
    assert rebound.status_code == 421 and "evil.example" in rebound.json()["message"]
    page = await sandbox_http.get("/sandbox", headers={"Host": f"evil.example:{port}"})
    assert page.status_code == 421
    for name in ("127.0.0.1", "localhost"):
        ok = await sandbox_http.get("/_sandbox/state", headers={"Host": f"{name}:{port}"})
        assert ok.status_code == 200
    # Discord's own routes are not the control API: the bot token guards them.
    api = await sandbox_http.get(
        "/api/v10/gateway", headers={"Host": f"evil.example:{port}", "Authorization": f"Bot {sandbox.token}"}
    )
    assert api.status_code == 200


async def test_allowed_hosts_can_be_added() -> None:
    config = SandboxConfig(voice=False, allowed_hosts=["music-box.lan:8765"])
    async with Sandbox(config=config) as sandbox, httpx.AsyncClient(base_url=sandbox.base_url) as http:
        assert (await http.get("/_sandbox/state", headers={"Host": "music-box.lan:8765"})).status_code == 200
        assert (await http.get("/_sandbox/state", headers={"Host": "music-box.lan:9999"})).status_code == 421


async def test_cross_site_origins_and_non_json_writes_are_refused(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    body = message_body(sandbox)
    evil = await sandbox_http.post("/_sandbox/messages", json=body, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    null = await sandbox_http.post("/_sandbox/messages", json=body, headers={"Origin": "null"})
    assert null.status_code == 403
    form = await sandbox_http.post("/_sandbox/messages", data=body)  # what a cross-site <form> can send
    assert form.status_code == 415
    text = await sandbox_http.post(
        "/_sandbox/messages", content=str(body).encode(), headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    assert not sandbox.world.channel_messages(int(body["channel_id"]))  # none of them got through
    same = await sandbox_http.post("/_sandbox/messages", json=body, headers={"Origin": sandbox.base_url})
    assert same.status_code == 200


async def test_the_audio_websocket_checks_its_origin(sandbox: Sandbox) -> None:
    url = f"{sandbox.base_url}/_sandbox/voice/{sandbox.world.first_guild.id}/pcm"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url, headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        async with http.ws_connect(url, headers={"Origin": sandbox.base_url}) as ws:
            assert not ws.closed


async def test_a_required_key_comes_by_header_or_by_the_printed_url(keyed: Sandbox) -> None:
    assert keyed.page_url == f"{keyed.base_url}/sandbox?key=per-run-key"
    async with httpx.AsyncClient(base_url=keyed.base_url) as http:
        assert (await http.get("/_sandbox/state")).status_code == 401
        assert (await http.get("/sandbox")).status_code == 401
        wrong = await http.get("/_sandbox/state", headers={"X-Sandbox-Key": "guess"})
        assert wrong.status_code == 401
        assert (await http.get("/sandbox?key=guess")).status_code == 401
        assert (await http.get("/sandbox/static/sandbox.js")).status_code == 200  # nothing secret
        ok = await http.get("/_sandbox/state", headers=keyed.control_headers)
        assert ok.status_code == 200
    async with httpx.AsyncClient(base_url=keyed.base_url, follow_redirects=True) as browser_like:
        page = await browser_like.get("/sandbox?key=per-run-key")
        assert page.status_code == 200 and str(page.url).endswith("/sandbox")  # the key left the address
        cookie = next(c for c in browser_like.cookies.jar if c.name == "zilean_sandbox_key")
        assert cookie.has_nonstandard_attr("HttpOnly")
        assert (await browser_like.get("/_sandbox/state")).status_code == 200  # the cookie carries it
