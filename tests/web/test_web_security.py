"""Headers on every response, CSRF on every state-changing request, 401 without a session."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from web_helpers import BASE_URL, log_in


@pytest.fixture
def app(app: FastAPI) -> FastAPI:
    """The app plus one state-changing route that needs nothing else, to test the guard alone."""

    @app.post("/_test/echo")
    async def echo() -> dict[str, bool]:
        return {"ok": True}

    return app


async def test_every_response_has_the_security_headers(client: httpx.AsyncClient) -> None:
    for response in (await client.get("/api/servers"), await client.get("/no-such-page")):
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "unsafe-inline" not in script_src and "unsafe-eval" not in script_src
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert "strict-transport-security" not in response.headers  # plain http here


async def test_api_without_a_session_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/servers")
    assert response.status_code == 401
    assert "not logged in" in response.json()["error"]
    response = await client.post("/api/servers/123/pause", json={})
    assert response.status_code == 401


async def test_a_post_without_the_csrf_token_is_403(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await log_in(app, client, 42)
    response = await client.post("/api/servers/123/pause", json={})
    assert response.status_code == 403
    assert "security token" in response.json()["error"]
    response = await client.post("/api/servers/123/pause", json={}, headers={"X-CSRF-Token": "wrong"})
    assert response.status_code == 403
    # the right token passes the guard (and then the guild check answers)
    response = await client.post("/_test/echo", json={}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200


async def test_the_csrf_token_may_come_as_a_form_field(app: FastAPI, client: httpx.AsyncClient) -> None:
    token = await log_in(app, client, 42)
    refused = await client.post("/_test/echo", data={"csrf_token": "nope"})
    assert refused.status_code == 403
    passed = await client.post("/_test/echo", data={"csrf_token": token})
    assert passed.status_code == 200


async def test_a_cross_site_origin_is_refused_even_with_the_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    token = await log_in(app, client, 42)
    headers = {"X-CSRF-Token": token, "Origin": "https://evil.example"}
    response = await client.post("/_test/echo", json={}, headers=headers)
    assert response.status_code == 403
    assert "another site" in response.text
    same = {"X-CSRF-Token": token, "Origin": BASE_URL}
    assert (await client.post("/_test/echo", json={}, headers=same)).status_code == 200
