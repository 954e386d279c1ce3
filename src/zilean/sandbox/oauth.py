"""OAuth2 authorization-code flow as Discord runs it: consent page, PKCE S256, token, refresh, revoke."""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from aiohttp import web

from zilean.sandbox import payloads
from zilean.sandbox.responses import UNAUTHORIZED, json_response

if TYPE_CHECKING:
    from zilean.sandbox.server import Sandbox

KNOWN_SCOPES = {
    "identify",
    "email",
    "guilds",
    "guilds.members.read",
    "connections",
    "bot",
    "applications.commands",
}
CODE_LIFETIME_S = 600
ACCESS_LIFETIME_S = 604800


@dataclass
class Grant:
    """What a user authorised: tokens, scopes and the code they came from."""

    user_id: int
    scopes: list[str]
    expires_at: float
    access_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    refresh_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    revoked: bool = False

    def token_body(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": ACCESS_LIFETIME_S,
            "refresh_token": self.refresh_token,
            "scope": " ".join(self.scopes),
        }


@dataclass
class Code:
    client_id: str
    redirect_uri: str
    scopes: list[str]
    user_id: int
    challenge: str | None
    expires_at: float
    used: bool = False
    grant: Grant | None = None


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    return json_response({"error": error, "error_description": description}, status)


def _page(title: str, body: str, status: int = 200) -> web.Response:
    text = (
        f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;background:#313338;color:#dbdee1;display:flex;justify-content:center}"
        "main{background:#2b2d31;padding:2em;margin-top:4em;border-radius:8px;max-width:28em}"
        "button{padding:.6em 1.4em;margin:.3em;border:0;border-radius:4px;background:#5865f2;color:#fff}"
        "button.cancel{background:#4e5058}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )
    return web.Response(text=text, status=status, content_type="text/html")


class OAuth:
    """The OAuth2 endpoints and the Bearer-token views of /users/@me and /users/@me/guilds."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.codes: dict[str, Code] = {}
        self.grants: dict[str, Grant] = {}  # by access and by refresh token
        self.clock: Callable[[], float] = time.time  # tests move it to expire codes and tokens

    @property
    def client_id(self) -> str:
        return str(self.sb.world.application_id)

    # --- authorize -------------------------------------------------------------------------------------
    def _check_request(self, params: dict[str, str]) -> web.Response | tuple[list[str], str]:
        """An error page (never a redirect to an unverified URI), an error redirect, or (scopes, redirect)."""
        if params.get("client_id") != self.client_id:
            return _page("Unknown application", "<h1>Unknown Application</h1>", 400)
        redirect = params.get("redirect_uri", "")
        if redirect not in self.sb.config.redirect_uris:
            return _page("Invalid redirect", "<h1>Invalid OAuth2 redirect_uri</h1>", 400)
        scopes = params.get("scope", "").split()
        problem = None
        if params.get("response_type") != "code":
            problem = ("unsupported_response_type", "response_type must be code")
        elif not scopes or not set(scopes) <= KNOWN_SCOPES:
            problem = ("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        elif params.get("code_challenge") and params.get("code_challenge_method") != "S256":
            problem = ("invalid_request", "code_challenge_method must be S256")
        if problem:
            return self._redirect(
                redirect, params.get("state"), error=problem[0], error_description=problem[1]
            )
        return scopes, redirect

    def _redirect(self, uri: str, state: str | None, **query: str) -> web.Response:
        if state is not None:
            query["state"] = state
        raise web.HTTPFound(f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}")

    async def authorize_page(self, request: web.Request) -> web.Response:
        """GET /oauth2/authorize: the consent page; the person picks which sandbox user logs in."""
        params = dict(request.query)
        checked = self._check_request(params)
        if isinstance(checked, web.Response):
            return checked
        scopes, _ = checked
        hidden = "".join(
            f'<input type=hidden name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in params.items()
        )
        users = [u for u in self.sb.world.users.values() if not u.bot]
        options = "".join(
            f'<option value="{u.id}">{html.escape(u.global_name or u.username)} (@{html.escape(u.username)})'
            "</option>"
            for u in users
        )
        body = (
            f"<h1>{html.escape(self.sb.world.bot.username)}</h1><p>wants to access your account "
            f"(sandbox): {html.escape(', '.join(scopes))}</p>"
            f'<form method=post action="/oauth2/authorize">{hidden}'
            f"<label>Log in as <select name=user_id>{options}</select></label><br><br>"
            "<button name=action value=authorize>Authorize</button>"
            "<button class=cancel name=action value=cancel>Cancel</button></form>"
        )
        return _page("Authorize", body)

    async def authorize_submit(self, request: web.Request) -> web.Response:
        """POST /oauth2/authorize: the consent answer; redirect back with a code (or access_denied)."""
        params = {k: str(v) for k, v in (await request.post()).items()}
        checked = self._check_request(params)
        if isinstance(checked, web.Response):
            return checked
        scopes, redirect = checked
        state = params.get("state")
        if params.get("action") != "authorize":
            return self._redirect(
                redirect,
                state,
                error="access_denied",
                error_description="The resource owner or authorization server denied the request",
            )
        try:
            user_id = int(params.get("user_id", ""))
        except ValueError:
            user_id = 0
        if user_id not in self.sb.world.users or self.sb.world.users[user_id].bot:
            return _page("Unknown user", "<h1>Unknown user</h1>", 400)
        code = secrets.token_urlsafe(22)
        self.codes[code] = Code(
            self.client_id,
            redirect,
            scopes,
            user_id,
            params.get("code_challenge") or None,
            expires_at=self.clock() + CODE_LIFETIME_S,
        )
        return self._redirect(redirect, state, code=code)

    # --- token endpoint --------------------------------------------------------------------------------
    def _client_ok(self, request: web.Request, form: dict[str, str]) -> bool:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return False
        return client_id == self.client_id and secret == self.sb.config.client_secret

    async def token(self, request: web.Request) -> web.Response:
        """POST /api/oauth2/token (form-encoded): authorization_code and refresh_token grants."""
        if not request.content_type.startswith("application/x-www-form-urlencoded"):
            return oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded")
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self._client_ok(request, form):
            return json_response({"error": "invalid_client"}, 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            return self._code_grant(form)
        if grant_type == "refresh_token":
            grant = self.grants.get(form.get("refresh_token", ""))
            if grant is None or grant.revoked or grant.refresh_token != form.get("refresh_token"):
                return oauth_error("invalid_grant", 'Invalid "refresh_token" in request.')
            self._revoke(grant)
            fresh = self._new_grant(grant.user_id, grant.scopes)
            return json_response(fresh.token_body())
        return oauth_error("unsupported_grant_type", "Unsupported grant type")

    def _code_grant(self, form: dict[str, str]) -> web.Response:
        code = self.codes.get(form.get("code", ""))
        if code is None or code.expires_at < self.clock():
            return oauth_error("invalid_grant", 'Invalid "code" in request.')
        if code.used:
            if code.grant is not None:  # RFC 6749 §4.1.2: a reused code revokes what it issued.
                self._revoke(code.grant)
            return oauth_error("invalid_grant", 'Invalid "code" in request.')
        if form.get("redirect_uri") != code.redirect_uri:
            return oauth_error("invalid_grant", 'Invalid "redirect_uri" in request.')
        if code.challenge is not None:
            verifier = form.get("code_verifier", "")
            if not 43 <= len(verifier) <= 128 or not secrets.compare_digest(s256(verifier), code.challenge):
                return oauth_error("invalid_grant", 'Invalid "code_verifier" in request.')
        code.used = True
        code.grant = self._new_grant(code.user_id, code.scopes)
        return json_response(code.grant.token_body())

    def _new_grant(self, user_id: int, scopes: list[str]) -> Grant:
        grant = Grant(user_id, scopes, expires_at=self.clock() + ACCESS_LIFETIME_S)
        self.grants[grant.access_token] = grant
        self.grants[grant.refresh_token] = grant
        return grant

    def _revoke(self, grant: Grant) -> None:
        grant.revoked = True
        self.grants.pop(grant.access_token, None)
        self.grants.pop(grant.refresh_token, None)

    async def revoke(self, request: web.Request) -> web.Response:
        """POST /api/oauth2/token/revoke: revoking either token ends the whole grant."""
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not self._client_ok(request, form):
            return json_response({"error": "invalid_client"}, 401)
        grant = self.grants.get(form.get("token", ""))
        if grant is not None:
            self._revoke(grant)
        return json_response({})

    # --- Bearer views ----------------------------------------------------------------------------------
    def bearer_valid(self, token: str) -> bool:
        grant = self.grants.get(token)
        return grant is not None and grant.access_token == token and grant.expires_at > self.clock()

    def _grant(self, request: web.Request, scope: str) -> Grant:
        """The grant of the request's Bearer access token (not a refresh token, not expired) with `scope`."""
        token = request.headers.get("Authorization", "")[7:]
        grant = self.grants.get(token)
        if grant is None or not self.bearer_valid(token) or scope not in grant.scopes:
            raise UNAUTHORIZED
        return grant

    async def me(self, request: web.Request) -> web.Response:
        grant = self._grant(request, "identify")
        user = self.sb.world.users[grant.user_id]
        data = {**payloads.user(user), "flags": 0, "locale": "en-US", "mfa_enabled": False, "premium_type": 0}
        if "email" in grant.scopes:
            data.update(email=user.email, verified=True)
        return json_response(data)

    async def my_guilds(self, request: web.Request) -> web.Response:
        grant = self._grant(request, "guilds")
        guilds = [g for g in self.sb.world.guilds.values() if grant.user_id in g.members]
        return json_response([payloads.partial_guild(g, grant.user_id) for g in guilds])

    async def my_member(self, request: web.Request) -> web.Response:
        """GET /users/@me/guilds/{guild_id}/member (scope guilds.members.read)."""
        grant = self._grant(request, "guilds.members.read")
        guild = self.sb.world.guilds.get(int(request.match_info["guild_id"]))
        if guild is None or grant.user_id not in guild.members:
            return json_response({"message": "Unknown Guild", "code": 10004}, 404)
        return json_response(payloads.member(self.sb.world, guild.members[grant.user_id]))

    async def authorization_info(self, request: web.Request) -> web.Response:
        """GET /oauth2/@me: the current authorization (application, scopes, expiry, user)."""
        grant = self.grants.get(request.headers.get("Authorization", "")[7:])
        if grant is None or not self.bearer_valid(grant.access_token):
            raise UNAUTHORIZED
        data: dict[str, object] = {
            "application": {
                "id": self.client_id,
                "name": self.sb.world.bot.username,
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
            },
            "scopes": grant.scopes,
            "expires": datetime.fromtimestamp(grant.expires_at, UTC).isoformat(),
        }
        if "identify" in grant.scopes:
            data["user"] = payloads.user(self.sb.world.users[grant.user_id])
        return json_response(data)

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        for path in ("/oauth2/authorize", "/api/oauth2/authorize"):
            r.add_get(path, self.authorize_page)
            r.add_post(path, self.authorize_submit)
        for prefix in ("/api", "/api/v10", "/api/v9"):
            r.add_get(f"{prefix}/users/@me/guilds/{{guild_id:\\d+}}/member", self.my_member)
            r.add_get(f"{prefix}/oauth2/@me", self.authorization_info)
            r.add_post(f"{prefix}/oauth2/token", self.token)
            r.add_post(f"{prefix}/oauth2/token/revoke", self.revoke)
