"""Everything one dashboard app holds, built once by create_app and found as `request.app.state.web`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from fastapi.templating import Jinja2Templates
from starlette.requests import HTTPConnection

from zilean.config import Settings
from zilean.db import Database
from zilean.db.bus import Bus
from zilean.web.crypto import TokenCipher
from zilean.web.live import LiveStreams
from zilean.web.oauth import DiscordOAuth
from zilean.web.pages.render import environment as page_environment
from zilean.web.ratelimit import Limits, RateLimiter
from zilean.web.services import Services
from zilean.web.sessions import SessionManager

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"


@dataclass
class WebContext:
    """Settings, database, bus and the services built on them."""

    settings: Settings
    db: Database
    bus: Bus
    base_url: str
    origin: str
    https: bool
    cipher: TokenCipher
    sessions: SessionManager
    limiter: RateLimiter
    services: Services
    templates: Jinja2Templates
    oauth: DiscordOAuth
    streams: LiveStreams
    # Called at shutdown, last added first (parts built on first use, e.g. the pages' search resolver)
    closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, db: Database, bus: Bus) -> WebContext:
        """Wire the parts together from the settings."""
        base_url = settings.web_base_url.rstrip("/")
        parts = urlsplit(base_url)
        https = parts.scheme == "https"
        secret = settings.secret_key.get_secret_value() if settings.secret_key else None
        cipher = TokenCipher.from_secret_key(secret)
        sessions = SessionManager(
            db,
            cipher,
            secure=https,
            idle=timedelta(days=settings.session_idle_days),
            absolute=timedelta(days=settings.session_absolute_days),
        )
        limiter = RateLimiter(
            Limits(
                plays_per_user=settings.rate_limit_plays_per_min,
                actions_per_user=settings.rate_limit_actions_per_min,
                actions_per_ip=settings.rate_limit_ip_actions_per_min,
                logins_per_ip=settings.rate_limit_logins_per_min,
            ),
            settings.rate_limit_storage_url,
        )
        # One Jinja2 environment for pages and error pages (its filters and static_url: web/pages/render.py)
        templates = Jinja2Templates(env=page_environment(), context_processors=[template_globals])
        services = Services(settings, db, bus, limiter)
        http = httpx.AsyncClient(timeout=10.0, headers={"User-Agent": "GroovyZilean-dashboard"})
        return cls(
            settings=settings,
            db=db,
            bus=bus,
            base_url=base_url,
            origin=f"{parts.scheme}://{parts.netloc}",
            https=https,
            cipher=cipher,
            sessions=sessions,
            limiter=limiter,
            services=services,
            templates=templates,
            oauth=DiscordOAuth(settings, f"{base_url}/callback", http),
            streams=LiveStreams(services),
        )

    async def aclose(self) -> None:
        """Release what the context opened (the HTTP client for Discord, the pages' resolver)."""
        for close in reversed(self.closers):
            await close()
        self.closers.clear()
        await self.oauth.http.aclose()
        await self.limiter.aclose()

    @property
    def redirect_uri(self) -> str:
        """The OAuth2 redirect URI: exactly WEB_BASE_URL + /callback (register it at Discord)."""
        return f"{self.base_url}/callback"


def web_context(conn: HTTPConnection) -> WebContext:
    """The WebContext of the app serving this request."""
    context: WebContext = conn.app.state.web
    return context


def template_globals(request: object) -> dict[str, object]:
    """What every template sees: `csrf_token` (empty when logged out) and `current_user` (or None).

    Both come from the request's session, resolved by the `OptionalUser`/`CurrentUser` dependency
    (or the CSRF guard) before the page renders.
    """
    state = getattr(request, "state", None)
    user = getattr(state, "user", None)
    return {"csrf_token": user.csrf_token if user else "", "current_user": user}
