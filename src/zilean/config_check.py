"""`zilean config check`: every problem with the settings, each naming the variable and the fix."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from zilean.config import Settings, is_placeholder
from zilean.core.redact import redact_url
from zilean.core.sources.ytdlp_config import cookies_problem, extractor_args_problem, js_runtime_problem

SUPPORTED_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
RATE_LIMIT_SCHEMES = ("memory://", "redis://", "rediss://", "redis+unix://", "async+memory://", "async+redis://")


def database_url_problem(url: str) -> str | None:
    """None when DATABASE_URL names a driver we support, else a one-line explanation."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return (
            f"DATABASE_URL {redact_url(url)!r} is not a database URL; use e.g. "
            "sqlite+aiosqlite:///./data/zilean.db or postgresql+asyncpg://user:pass@host/db"
        )
    if parsed.drivername == "postgresql" or parsed.drivername == "postgres":
        return None  # normalised to asyncpg by zilean.db.engine
    if parsed.drivername not in SUPPORTED_DRIVERS:
        return (
            f"DATABASE_URL uses {parsed.drivername!r}; supported: "
            + ", ".join(SUPPORTED_DRIVERS)
            + " (postgresql:// is accepted too)"
        )
    return None


def problems(settings: Settings) -> list[str]:
    """Human-readable problems; empty when the settings can run the product."""
    found: list[str] = []
    if (db_problem := database_url_problem(settings.database_url)) is not None:
        found.append(db_problem)
    for problem in (
        js_runtime_problem(settings.ytdlp_js_runtime),
        cookies_problem(settings.ytdlp_cookies_file),
        extractor_args_problem(settings.ytdlp_extractor_args),
    ):
        if problem is not None:
            found.append(problem)
    if not settings.rate_limit_storage_url.startswith(RATE_LIMIT_SCHEMES):
        found.append(
            f"RATE_LIMIT_STORAGE_URL {settings.rate_limit_storage_url!r} is not memory:// or redis://host:port"
        )
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        hint = "the offline sandbox runs instead" if not settings.is_production else "the bot cannot log in"
        found.append(
            f"DISCORD_TOKEN is not set ({hint}); create a bot at "
            "https://discord.com/developers/applications and put its token in .env"
        )
    if settings.is_production:
        for name, secret in (
            ("DISCORD_TOKEN", settings.discord_token),
            ("DISCORD_CLIENT_SECRET", settings.discord_client_secret),
            ("SECRET_KEY", settings.secret_key),
        ):
            if secret is not None and secret.get_secret_value().strip() and is_placeholder(secret):
                found.append(f"{name} still holds the placeholder from .env.example; set a real value")
        if settings.secret_key is None or not settings.secret_key.get_secret_value().strip():
            found.append(
                "SECRET_KEY is not set; generate one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        elif not is_placeholder(settings.secret_key) and len(settings.secret_key.get_secret_value()) < 32:
            found.append("SECRET_KEY is shorter than 32 characters; generate a longer random one")
        if not settings.discord_client_id:
            found.append("DISCORD_CLIENT_ID is not set (needed for dashboard login); copy it from your app")
        secret = settings.discord_client_secret
        if secret is None or not secret.get_secret_value().strip():
            found.append(
                "DISCORD_CLIENT_SECRET is not set (needed for dashboard login); copy it from your app"
            )
        if not settings.web_base_url.startswith("https://"):
            found.append("WEB_BASE_URL should be https:// in production (login cookies are Secure)")
    return found


def fatal_problems(settings: Settings) -> list[str]:
    """The problems that stop start-up: in development a missing token only means the sandbox."""
    if settings.is_production:
        return problems(settings)
    return [p for p in problems(settings) if not p.startswith("DISCORD_TOKEN is not set")]
