"""Settings, read from the environment and `.env`. Built once by the CLI and passed down."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

if TYPE_CHECKING:
    from zilean.core.sources import SourceOptions

DISCORD_API_BASE = "https://discord.com/api/v10"
DISCORD_GATEWAY_URL = "wss://gateway.discord.gg/"

# Values people leave in from .env.example; refused in production.
PLACEHOLDER_MARKERS = ("your_", "change-me", "changeme", "placeholder", "xxx")


class Environment(StrEnum):
    development = "development"
    production = "production"


class Settings(BaseSettings):
    """Every setting of the bot, the dashboard and the sandbox. `.env.example` documents each one."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Environment = Environment.development
    discord_token: SecretStr | None = None
    discord_client_id: str | None = None
    discord_client_secret: SecretStr | None = None
    spotify_client_id: str | None = None
    spotify_client_secret: SecretStr | None = None
    secret_key: SecretStr | None = None

    database_url: str = "sqlite+aiosqlite:///./data/zilean.db"
    auto_migrate: bool = True
    command_prefix: str = Field(default="=", min_length=1, max_length=5)

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8000, ge=1, le=65535)
    web_base_url: str = "http://127.0.0.1:8000"
    # Where `zilean run` without a token puts the sandbox (0: any free port; `zilean sandbox --port`).
    sandbox_port: int = Field(default=8765, ge=0, le=65535)
    # Dashboard sessions: idle and absolute lifetime (OWASP ASVS 7.3).
    session_idle_days: float = Field(default=7, gt=0, le=365)
    session_absolute_days: float = Field(default=30, gt=0, le=365)
    # Rate limits, per minute: plays and actions per user, actions and logins per client address.
    rate_limit_plays_per_min: int = Field(default=10, ge=1)
    rate_limit_actions_per_min: int = Field(default=60, ge=1)
    rate_limit_ip_actions_per_min: int = Field(default=240, ge=1)
    rate_limit_logins_per_min: int = Field(default=10, ge=1)
    # Where the counters live: memory:// (one process) or redis://host:port (several web processes).
    rate_limit_storage_url: str = "memory://"
    # Proxies whose X-Forwarded-For / -Proto uvicorn believes (nginx on the same host).
    web_forwarded_allow_ips: str = "127.0.0.1"
    # How long a dashboard action waits for the bot's answer.
    web_command_timeout_s: float = Field(default=15, gt=0, le=120)

    # Prometheus: each bot process serves /metrics, /healthz, /readyz on METRICS_HOST:METRICS_PORT
    # (unset: off; with --shard-ids, + the first shard id). /metrics (here and on the dashboard) answers
    # only METRICS_ALLOW_IPS (addresses or networks) or `Authorization: Bearer METRICS_TOKEN`.
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_allow_ips: Annotated[list[str], NoDecode] = ["127.0.0.1", "::1"]
    metrics_token: SecretStr | None = None

    log_dir: Path = Path("logs")
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"  # json: one object per line (journald, Loki)

    ffmpeg_path: str | None = None
    library_dir: Path | None = None
    trusted_media_origins: Annotated[list[str], NoDecode] = []
    search_provider: str = "ytsearch"
    # Where a search goes when the provider blocks it (bot check, 429, unreachable); empty: nowhere.
    search_fallbacks: Annotated[list[str], NoDecode] = ["scsearch", "local"]
    playlist_limit: int = Field(default=500, ge=1, le=10_000)
    max_upload_mb: int = Field(default=100, ge=1, le=2_000)
    # How long a stream without a declared size (internet radio) may play before the bot ends it.
    stream_limit_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
    # yt-dlp: JS runtime for YouTube (empty = the bundled deno), cookies, proxy (sources/ytdlp_config.py).
    ytdlp_js_runtime: str = ""
    ytdlp_cookies_file: str = ""
    ytdlp_proxy: SecretStr | None = None
    ytdlp_extractor_args: str = ""
    # SCHED_FIFO priority of the audio sender thread, 0 = normal priority (zilean.bot.sender says why).
    audio_realtime_priority: int = Field(default=10, ge=0, le=99)

    # An lrclib-compatible lyrics service for /lyrics (empty: the command is off).
    lyrics_api_base: str = "https://lrclib.net"

    discord_api_base: str = DISCORD_API_BASE
    discord_gateway_url: str = DISCORD_GATEWAY_URL
    spotify_api_base: str = "https://api.spotify.com/v1"
    spotify_accounts_base: str = "https://accounts.spotify.com"

    @field_validator("search_fallbacks", mode="before")
    @classmethod
    def _split_fallbacks(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_media_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("metrics_port", "metrics_token", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("metrics_allow_ips", mode="before")
    @classmethod
    def _split_ips(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("metrics_allow_ips")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        import ipaddress

        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    def source_options(self) -> SourceOptions:
        """What the sources (resolver, network guard, library, Spotify) are told; bot and CLI alike."""
        from zilean.core.sources import SourceOptions
        from zilean.core.sources.ytdlp_config import YtDlpConfig

        secret = self.spotify_client_secret
        return SourceOptions(
            search_provider=self.search_provider,
            playlist_limit=self.playlist_limit,
            max_upload_bytes=self.max_upload_mb * 1024 * 1024,
            trusted_origins=tuple(self.trusted_media_origins),
            search_fallbacks=tuple(self.search_fallbacks),
            spotify_client_id=self.spotify_client_id or None,
            spotify_client_secret=secret.get_secret_value() or None if secret else None,
            spotify_api_base=self.spotify_api_base,
            spotify_accounts_base=self.spotify_accounts_base,
            library_dir=self.library_dir,
            ffmpeg_path=self.ffmpeg_path,
            stream_limit_minutes=self.stream_limit_minutes,
            ytdlp=YtDlpConfig(
                js_runtime=self.ytdlp_js_runtime or None,
                cookies_file=self.ytdlp_cookies_file or None,
                proxy=self.ytdlp_proxy.get_secret_value() or None if self.ytdlp_proxy else None,
                extractor_args=self.ytdlp_extractor_args or None,
            ),
        )

    def ffmpeg_executable(self) -> str:
        """The ffmpeg binary: FFMPEG_PATH, else the one shipped in the imageio-ffmpeg wheel."""
        if self.ffmpeg_path:
            return self.ffmpeg_path
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())


def is_placeholder(secret: SecretStr | None) -> bool:
    if secret is None:
        return True
    raw = secret.get_secret_value().strip()
    return not raw or any(marker in raw.lower() for marker in PLACEHOLDER_MARKERS)
