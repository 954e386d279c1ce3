"""Discord's OAuth2 authorization-code flow with PKCE (RFC 6749, RFC 7636), as the dashboard's client.

Authlib builds the protocol parts (the authorization URL, the token request body, the S256 challenge
and the random values); httpx makes the calls. (Authlib's own httpx integration is not used: since
1.9.10 importing it warns that httpx is deprecated in favour of httpx2, a different client.)

Endpoints follow DISCORD_API_BASE: authorize at its origin + /oauth2/authorize, tokens at
DISCORD_API_BASE/oauth2/token and …/token/revoke, the user at …/users/@me and …/users/@me/guilds.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from zilean.config import Settings
from zilean.db.connector import utcnow
from zilean.web.sessions import DiscordTokens

log = logging.getLogger(__name__)

SCOPES = "identify guilds"
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


class OAuthFailed(Exception):
    """Discord did not complete a step; `message` is safe to show, the cause is logged."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def new_verifier() -> str:
    """A PKCE code verifier: 64 characters from the unreserved set (RFC 7636 §4.1 allows 43–128)."""
    return str(generate_token(64))


class DiscordOAuth:
    """The OAuth2 client for one Discord application."""

    def __init__(self, settings: Settings, redirect_uri: str, http: httpx.AsyncClient) -> None:
        api = settings.discord_api_base.rstrip("/")
        parts = urlsplit(api)
        self.authorize_endpoint = f"{parts.scheme}://{parts.netloc}/oauth2/authorize"
        self.token_endpoint = f"{api}/oauth2/token"
        self.revoke_endpoint = f"{api}/oauth2/token/revoke"
        self.api = api
        self.client_id = settings.discord_client_id or ""
        secret = settings.discord_client_secret
        self.client_secret = secret.get_secret_value() if secret else ""
        self.redirect_uri = redirect_uri
        self.http = http

    @property
    def configured(self) -> bool:
        """True when DISCORD_CLIENT_ID and DISCORD_CLIENT_SECRET are set."""
        return bool(self.client_id and self.client_secret)

    def authorization_url(self, state: str, verifier: str) -> str:
        """Where to send the browser: Discord's consent page for this login."""
        return str(
            prepare_grant_uri(
                self.authorize_endpoint,
                self.client_id,
                "code",
                redirect_uri=self.redirect_uri,
                scope=SCOPES,
                state=state,
                code_challenge=create_s256_code_challenge(verifier),
                code_challenge_method="S256",
            )
        )

    async def exchange(self, code: str, verifier: str) -> DiscordTokens:
        """Trade the authorization code (and the PKCE verifier) for tokens."""
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=self.redirect_uri, code_verifier=verifier
        )
        return await self._token_call(body, "exchange the login code")

    async def refresh(self, refresh_token: str) -> DiscordTokens:
        """New tokens from a refresh token."""
        body = prepare_token_request("refresh_token", refresh_token=refresh_token)
        return await self._token_call(body, "refresh the Discord token")

    async def revoke(self, token: str) -> bool:
        """Revoke a token (and with it the grant); False (logged) if Discord did not confirm."""
        try:
            response = await self.http.post(
                self.revoke_endpoint,
                data={"token": token},
                auth=(self.client_id, self.client_secret),
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            log.warning("could not revoke a Discord token: %s", exc)
            return False
        if response.is_error:
            log.warning(
                "Discord refused to revoke a token: HTTP %s %s", response.status_code, response.text[:200]
            )
            return False
        return True

    async def user(self, access_token: str) -> dict[str, Any]:
        """GET /users/@me."""
        data = await self._get("/users/@me", access_token)
        if not isinstance(data, dict) or "id" not in data:
            raise OAuthFailed("Discord sent an unexpected answer for your account.")
        return data

    async def guilds(self, access_token: str) -> list[dict[str, Any]]:
        """GET /users/@me/guilds (id, name, icon, owner, permissions)."""
        data = await self._get("/users/@me/guilds", access_token)
        if not isinstance(data, list):
            raise OAuthFailed("Discord sent an unexpected answer for your servers.")
        return [
            {key: item.get(key) for key in ("id", "name", "icon", "owner", "permissions")}
            for item in data
            if isinstance(item, dict)
        ]

    async def _token_call(self, body: str, doing: str) -> DiscordTokens:
        try:
            response = await self.http.post(
                self.token_endpoint, content=body, headers=FORM, auth=(self.client_id, self.client_secret)
            )
        except httpx.HTTPError as exc:
            log.warning("could not %s: %s", doing, exc)
            raise OAuthFailed("Discord could not be reached to finish the login.") from exc
        if response.is_error:
            log.warning("Discord refused to %s: HTTP %s %s", doing, response.status_code, response.text[:300])
            raise OAuthFailed("Discord did not accept this login (the code may be used or expired).")
        try:
            data = response.json()
            access = str(data["access_token"])
            expires_in = int(data.get("expires_in") or 0)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("Discord's token answer could not be read: %s", response.text[:300])
            raise OAuthFailed("Discord sent an unexpected answer to the login.") from exc
        refresh = data.get("refresh_token")
        return DiscordTokens(
            access_token=access,
            refresh_token=str(refresh) if refresh else None,
            expires_at=utcnow() + timedelta(seconds=expires_in or 3600),
        )

    async def _get(self, path: str, access_token: str) -> Any:
        try:
            response = await self.http.get(
                self.api + path,
                headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as exc:
            log.warning("GET %s failed: %s", path, exc)
            raise OAuthFailed("Discord could not be reached.") from exc
        if response.is_error:
            log.warning("GET %s: HTTP %s %s", path, response.status_code, response.text[:200])
            raise OAuthFailed("Discord refused to tell who you are.")
        try:
            return response.json()
        except ValueError as exc:
            raise OAuthFailed("Discord sent an unexpected answer.") from exc
