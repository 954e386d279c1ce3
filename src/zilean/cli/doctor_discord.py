"""The checks `zilean doctor` runs against Discord, and the screen it prints.

They ask DISCORD_API_BASE (Discord, or the sandbox) exactly what a bot would: the
token (`GET /users/@me`), the application's privileged-intent flags and redirect URIs
(`GET /applications/@me`), and the clock against the answer's `Date` header.
"""

from __future__ import annotations

import asyncio
import time
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from zilean import __version__
from zilean.cli.doctor_checks import Result, Status, fail, local_checks, ok, warn

if TYPE_CHECKING:
    from zilean.config import Settings

# Application flags (Discord: "Application Object → Application Flags").
GATEWAY_GUILD_MEMBERS, GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 14, 1 << 15
GATEWAY_MESSAGE_CONTENT, GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 18, 1 << 19
GUILD_MEMBERS_FLAGS = GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED
MESSAGE_CONTENT_FLAGS = GATEWAY_MESSAGE_CONTENT | GATEWAY_MESSAGE_CONTENT_LIMITED
SKEW_WARN_S, SKEW_FAIL_S = 5.0, 120.0
MARKS = {Status.ok: "✓", Status.warn: "⚠", Status.fail: "✗"}


async def discord_checks(settings: Settings) -> list[Result]:
    """Token, intents, OAuth redirect and clock, from Discord's (or the sandbox's) own answers."""
    import httpx

    if settings.discord_token is None or not settings.discord_token.get_secret_value():
        severity = fail if settings.is_production else warn
        return [
            severity(
                "Discord token",
                "DISCORD_TOKEN is not set (the offline sandbox runs instead)",
                "put the bot token from the developer portal (Bot → Reset Token) in DISCORD_TOKEN",
            )
        ]
    base = settings.discord_api_base.rstrip("/")
    headers = {
        "Authorization": f"Bot {settings.discord_token.get_secret_value()}",
        "User-Agent": f"DiscordBot (https://github.com/groovy-zilean, {__version__})",
    }
    try:
        async with httpx.AsyncClient(timeout=10, headers=headers) as http:
            sent = time.time()
            me = await http.get(f"{base}/users/@me")
            received = time.time()
            app = await http.get(f"{base}/applications/@me") if me.status_code == 200 else None
    except httpx.HTTPError as exc:
        return [
            fail("Discord token", f"cannot reach {base}: {exc}", "check the network and DISCORD_API_BASE")
        ]
    results = [_token(me)]
    if app is not None:
        results += _application(settings, app)
    results.append(_clock(me.headers.get("Date"), (sent + received) / 2))
    return results


def _token(me: Any) -> Result:
    if me.status_code == 401:
        return fail(
            "Discord token",
            "rejected (401 Unauthorized)",
            "reset the token in the developer portal (Bot → Reset Token) and update DISCORD_TOKEN",
        )
    if me.status_code != 200:
        return fail(
            "Discord token", f"GET /users/@me answered {me.status_code}", "try again; see status.discord.com"
        )
    user = me.json()
    return ok("Discord token", f"valid: bot {user.get('username')} ({user.get('id')})")


def _application(settings: Settings, app: Any) -> list[Result]:
    if app.status_code != 200:
        return [fail("application", f"GET /applications/@me answered {app.status_code}", "check the token")]
    data = app.json()
    flags = int(data.get("flags") or 0)
    portal = "developer portal → your app → Bot → Privileged Gateway Intents"
    results = []
    for name, bits, enabled in (
        ("Message Content", MESSAGE_CONTENT_FLAGS, "= prefix commands see message text"),
        ("Server Members", GUILD_MEMBERS_FLAGS, "the dashboard sees members and roles"),
    ):
        # The bot asks for both privileged intents; Discord closes its connection (4014) without them.
        if flags & bits:
            results.append(ok(f"{name} intent", f"enabled: {enabled}"))
        else:
            refused = "disabled: Discord refuses the bot's connection"
            results.append(fail(f"{name} intent", refused, f"turn on {name} Intent ({portal})"))
    expected = f"{settings.web_base_url.rstrip('/')}/callback"
    registered = [str(uri) for uri in data.get("redirect_uris") or []]
    if expected in registered:
        results.append(ok("OAuth redirect", f"{expected} is registered"))
    else:
        listed = ", ".join(registered) or "none"
        results.append(
            fail(
                "OAuth redirect",
                f"{expected} (WEB_BASE_URL + /callback) is not registered ({listed})",
                "add it under OAuth2 → Redirects in the developer portal, or fix WEB_BASE_URL",
            )
        )
    if settings.is_production and not settings.web_base_url.startswith("https://"):
        results.append(
            warn(
                "WEB_BASE_URL",
                f"{settings.web_base_url} is not https",
                "serve the dashboard over TLS (docs/deploy.md: nginx + certbot)",
            )
        )
    return results


def _clock(date_header: str | None, local: float) -> Result:
    if not date_header:
        return warn("clock", "Discord sent no Date header", "none needed; the clock could not be compared")
    try:
        remote = parsedate_to_datetime(date_header).timestamp()
    except (TypeError, ValueError):
        return warn("clock", f"unreadable Date header {date_header!r}", "none needed")
    skew = local - remote  # the header has 1 s resolution
    detail = f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} Discord"
    fix = "synchronise the clock (timedatectl set-ntp true, or install chrony)"
    if abs(skew) > SKEW_FAIL_S:
        return fail("clock", detail, fix)
    if abs(skew) > SKEW_WARN_S:
        return warn("clock", detail, fix)
    return ok("clock", f"within {SKEW_WARN_S:.0f} s of Discord")


async def all_checks(settings: Settings) -> list[Result]:
    """The local checks and the Discord ones, run side by side."""
    local, remote = await asyncio.gather(local_checks(settings), discord_checks(settings))
    return [*local, *remote]


def render(results: list[Result]) -> str:
    width = max(len(result.name) for result in results)
    lines = []
    for result in results:
        line = f"{MARKS[result.status]} {result.name:<{width}}  {result.detail}"
        if result.fix:
            line += f"\n  {'':<{width}}  → {result.fix}"
        lines.append(line)
    return "\n".join(lines)
