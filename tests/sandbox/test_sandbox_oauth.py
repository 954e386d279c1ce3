"""OAuth2 authorization-code flow with PKCE against the sandbox, as the dashboard will run it (httpx)."""

from __future__ import annotations

import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import httpx

from zilean.sandbox import Sandbox
from zilean.sandbox.oauth import s256

REDIRECT = "http://127.0.0.1:8000/callback"


def authorize_params(sandbox: Sandbox, verifier: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": str(sandbox.world.application_id),
        "redirect_uri": REDIRECT,
        "scope": "identify guilds",
        "state": "st4te-" + secrets.token_hex(4),
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        **extra,
    }


async def consent(http: httpx.AsyncClient, params: dict[str, str], user_id: int) -> httpx.Response:
    """Load the consent page, then press Authorize as the person would."""
    page = await http.get("/oauth2/authorize", params=params)
    assert page.status_code == 200 and "Authorize" in page.text
    fields = re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', page.text)
    form = {html.unescape(k): html.unescape(v) for k, v in fields}  # as a browser reads them
    assert form["state"] == params["state"]
    return await http.post("/oauth2/authorize", data={**form, "user_id": str(user_id), "action": "authorize"})


def token_form(sandbox: Sandbox, **fields: str) -> dict[str, str]:
    return {
        "client_id": str(sandbox.world.application_id),
        "client_secret": sandbox.config.client_secret,
        **fields,
    }


async def test_code_flow_with_pkce(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    verifier = secrets.token_urlsafe(48)
    params = authorize_params(sandbox, verifier)
    dj = sandbox.world.user_named("dj")
    redirect = await consent(sandbox_http, params, dj.id)
    assert redirect.status_code == 302
    target = urlsplit(redirect.headers["location"])
    assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
    query = parse_qs(target.query)
    assert query["state"] == [params["state"]]
    code = query["code"][0]

    wrong_verifier = token_form(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=secrets.token_urlsafe(48),
    )
    refused = await sandbox_http.post("/api/oauth2/token", data=wrong_verifier)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    wrong_redirect = token_form(
        sandbox,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT + "/evil",
        code_verifier=verifier,
    )
    assert (await sandbox_http.post("/api/oauth2/token", data=wrong_redirect)).json()[
        "error"
    ] == "invalid_grant"
    bad_client = {
        **token_form(
            sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
        ),
        "client_secret": "nope",
    }
    assert (await sandbox_http.post("/api/oauth2/token", data=bad_client)).status_code == 401

    good = token_form(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    issued = await sandbox_http.post("/api/oauth2/token", data=good)
    assert issued.status_code == 200 and issued.headers["content-type"] == "application/json"
    tokens = issued.json()
    assert tokens["token_type"] == "Bearer" and tokens["scope"] == "identify guilds"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    me = (await sandbox_http.get("/api/users/@me", headers=bearer)).json()
    assert me["id"] == str(dj.id) and me["username"] == "dj" and "email" not in me
    (guild,) = (await sandbox_http.get("/api/v10/users/@me/guilds", headers=bearer)).json()
    assert guild["name"] == "Zilean Sandbox" and guild["owner"] is False

    reused = await sandbox_http.post("/api/oauth2/token", data=good)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # A replayed code revokes what it issued (RFC 6749 §4.1.2).
    assert (await sandbox_http.get("/api/users/@me", headers=bearer)).status_code == 401


async def test_refresh_and_revoke(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    verifier = secrets.token_urlsafe(48)
    owner = sandbox.world.user_named("owner")
    location = (await consent(sandbox_http, authorize_params(sandbox, verifier), owner.id)).headers[
        "location"
    ]
    code = parse_qs(urlsplit(location).query)["code"][0]
    first = (
        await sandbox_http.post(
            "/api/oauth2/token",
            data=token_form(
                sandbox,
                grant_type="authorization_code",
                code=code,
                redirect_uri=REDIRECT,
                code_verifier=verifier,
            ),
        )
    ).json()
    refreshed = await sandbox_http.post(
        "/api/oauth2/token",
        data=token_form(sandbox, grant_type="refresh_token", refresh_token=first["refresh_token"]),
    )
    second = refreshed.json()
    assert refreshed.status_code == 200 and second["access_token"] != first["access_token"]
    assert (
        await sandbox_http.get("/api/users/@me", headers={"Authorization": f"Bearer {first['access_token']}"})
    ).status_code == 401
    bearer = {"Authorization": f"Bearer {second['access_token']}"}
    (guild,) = (await sandbox_http.get("/api/users/@me/guilds", headers=bearer)).json()
    assert guild["owner"] is True and int(guild["permissions"]) & 8  # the owner is an administrator
    revoked = await sandbox_http.post(
        "/api/oauth2/token/revoke", data=token_form(sandbox, token=second["access_token"])
    )
    assert revoked.status_code == 200
    assert (await sandbox_http.get("/api/users/@me", headers=bearer)).status_code == 401


async def test_authorize_refuses_bad_requests(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    verifier = secrets.token_urlsafe(48)
    unknown_redirect = await sandbox_http.get(
        "/oauth2/authorize", params=authorize_params(sandbox, verifier, redirect_uri="http://evil.example/cb")
    )
    assert unknown_redirect.status_code == 400 and "location" not in unknown_redirect.headers
    unknown_client = await sandbox_http.get(
        "/oauth2/authorize", params=authorize_params(sandbox, verifier, client_id="123")
    )
    assert unknown_client.status_code == 400
    bad_scope = await sandbox_http.get(
        "/oauth2/authorize", params=authorize_params(sandbox, verifier, scope="identify admin", state="s1")
    )
    assert bad_scope.status_code == 302
    assert parse_qs(urlsplit(bad_scope.headers["location"]).query) == {
        "error": ["invalid_scope"],
        "error_description": ["The requested scope is invalid, unknown, or malformed."],
        "state": ["s1"],
    }
    plain = await sandbox_http.get(
        "/oauth2/authorize", params=authorize_params(sandbox, verifier, code_challenge_method="plain")
    )
    assert parse_qs(urlsplit(plain.headers["location"]).query)["error"] == ["invalid_request"]
    params = authorize_params(sandbox, verifier)
    cancelled = await sandbox_http.post("/oauth2/authorize", data={**params, "action": "cancel"})
    assert parse_qs(urlsplit(cancelled.headers["location"]).query)["error"] == ["access_denied"]


async def test_member_and_authorization_info_follow_scopes(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(48)
    dj = sandbox.world.user_named("dj")
    guild = sandbox.world.first_guild
    params = authorize_params(sandbox, verifier, scope="identify guilds.members.read")
    location = (await consent(sandbox_http, params, dj.id)).headers["location"]
    code = parse_qs(urlsplit(location).query)["code"][0]
    form = token_form(
        sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT, code_verifier=verifier
    )
    access = (await sandbox_http.post("/api/oauth2/token", data=form)).json()["access_token"]
    bearer = {"Authorization": f"Bearer {access}"}
    member = (await sandbox_http.get(f"/api/users/@me/guilds/{guild.id}/member", headers=bearer)).json()
    assert member["user"]["id"] == str(dj.id)
    assert member["roles"] == [str(sandbox.world.role_named(guild.id, "DJ").id)]
    info = (await sandbox_http.get("/api/oauth2/@me", headers=bearer)).json()
    assert info["scopes"] == ["identify", "guilds.members.read"] and info["user"]["username"] == "dj"
    no_guilds_scope = await sandbox_http.get("/api/users/@me/guilds", headers=bearer)
    assert no_guilds_scope.status_code == 401


async def code_for(
    sandbox: Sandbox, http: httpx.AsyncClient, user: str, verifier: str | None, **extra: str
) -> str:
    """Consent as `user` and return the code (no PKCE when `verifier` is None)."""
    params = authorize_params(sandbox, verifier or "x" * 43, **extra)
    if verifier is None:
        del params["code_challenge"], params["code_challenge_method"]
    location = (await consent(http, params, sandbox.world.user_named(user).id)).headers["location"]
    return parse_qs(urlsplit(location).query)["code"][0]


def exchange(sandbox: Sandbox, code: str, verifier: str | None) -> dict[str, str]:
    fields = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        fields["code_verifier"] = verifier
    return token_form(sandbox, **fields)


class Clock:
    """The sandbox's OAuth clock, moved by hand (codes live 10 minutes, access tokens 7 days)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.now = 1_000_000.0
        sandbox.oauth.clock = lambda: self.now


async def test_codes_are_valid_for_ten_minutes(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    clock = Clock(sandbox)
    verifier = secrets.token_urlsafe(48)
    late = await code_for(sandbox, sandbox_http, "alice", verifier)
    in_time = await code_for(sandbox, sandbox_http, "alice", verifier)
    clock.now += 599
    assert (
        await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, in_time, verifier))
    ).is_success
    clock.now += 2  # 601 s after consent
    expired = await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, late, verifier))
    assert expired.status_code == 400 and expired.json()["error"] == "invalid_grant"


async def test_pkce_is_required_once_a_challenge_was_sent(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    verifier = secrets.token_urlsafe(48)
    code = await code_for(sandbox, sandbox_http, "alice", verifier)
    missing = await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, code, None))
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_grant"
    assert (await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, code, verifier))).is_success
    plain = await code_for(sandbox, sandbox_http, "alice", None)  # Discord also allows no PKCE
    assert (await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, plain, None))).is_success


async def test_state_is_echoed_only_when_sent(sandbox: Sandbox, sandbox_http: httpx.AsyncClient) -> None:
    params = authorize_params(sandbox, secrets.token_urlsafe(48))
    del params["state"]
    page = await sandbox_http.get("/oauth2/authorize", params=params)
    form = dict(re.findall(r'<input type=hidden name="([^"]+)" value="([^"]*)">', page.text))
    bob = sandbox.world.user_named("bob").id
    answer = await sandbox_http.post(
        "/oauth2/authorize", data={**form, "user_id": str(bob), "action": "authorize"}
    )
    assert set(parse_qs(urlsplit(answer.headers["location"]).query)) == {"code"}
    odd = authorize_params(sandbox, "v" * 43, state="a b&c=d/é")
    redirect = await consent(sandbox_http, odd, bob)
    assert parse_qs(urlsplit(redirect.headers["location"]).query)["state"] == ["a b&c=d/é"]


async def test_access_tokens_expire_and_refresh_tokens_are_single_use(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    clock = Clock(sandbox)
    verifier = secrets.token_urlsafe(48)
    code = await code_for(sandbox, sandbox_http, "bob", verifier)
    tokens = (await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, code, verifier))).json()
    assert tokens["expires_in"] == 604_800
    as_bearer = {"Authorization": f"Bearer {tokens['refresh_token']}"}
    assert (await sandbox_http.get("/api/users/@me/guilds", headers=as_bearer)).status_code == 401
    clock.now += 604_801
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await sandbox_http.get("/api/users/@me", headers=bearer)).status_code == 401
    assert (await sandbox_http.get("/api/users/@me/guilds", headers=bearer)).status_code == 401
    refresh = token_form(sandbox, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    fresh = await sandbox_http.post("/api/oauth2/token", data=refresh)
    assert fresh.is_success
    again = await sandbox_http.post("/api/oauth2/token", data=refresh)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    new_bearer = {"Authorization": f"Bearer {fresh.json()['access_token']}"}
    assert (await sandbox_http.get("/api/users/@me", headers=new_bearer)).json()["username"] == "bob"
    # Revoking the refresh token ends the access token too.
    revoke = token_form(sandbox, token=fresh.json()["refresh_token"], token_type_hint="refresh_token")
    assert (await sandbox_http.post("/api/oauth2/token/revoke", data=revoke)).is_success
    assert (await sandbox_http.get("/api/users/@me", headers=new_bearer)).status_code == 401
    bad_client = {**revoke, "client_secret": "wrong"}
    assert (await sandbox_http.post("/api/oauth2/token/revoke", data=bad_client)).status_code == 401


async def test_my_guilds_carry_owner_and_permission_bits(
    sandbox: Sandbox, sandbox_http: httpx.AsyncClient
) -> None:
    world = sandbox.world
    guild = world.first_guild
    admins = world.add_role(guild, "Admins", 1 << 3)
    guild.members[world.user_named("alice").id].roles.append(admins.id)
    seen = {}
    for name in ("owner", "alice", "bob"):
        verifier = secrets.token_urlsafe(48)
        code = await code_for(sandbox, sandbox_http, name, verifier)
        access = (await sandbox_http.post("/api/oauth2/token", data=exchange(sandbox, code, verifier))).json()
        bearer = {"Authorization": f"Bearer {access['access_token']}"}
        (listed,) = (await sandbox_http.get("/api/users/@me/guilds", headers=bearer)).json()
        assert listed["id"] == str(guild.id) and isinstance(listed["permissions"], str)
        seen[name] = (listed["owner"], int(listed["permissions"]))
    everyone = guild.roles[guild.id].permissions
    assert seen["owner"][0] is True and seen["owner"][1] & (1 << 3)
    assert seen["alice"][0] is False and seen["alice"][1] & (1 << 3)  # administrator by role: every bit
    assert seen["alice"][1] & (1 << 5) and not seen["bob"][1] & (1 << 5)  # MANAGE_GUILD
    assert seen["bob"] == (False, everyone)
