"""SourceOptions: everything the sources need, passed in explicitly (core never reads settings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zilean.core.sources.ytdlp_config import YtDlpConfig

DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How queries are resolved. The CLI and the bot build this from Settings."""

    search_provider: str = "ytsearch"  # a yt-dlp search prefix ("ytsearch", "scsearch") or "local"
    # Tried in order when a search on the provider is blocked (bot check, 429, unreachable).
    search_fallbacks: tuple[str, ...] = ("scsearch", "local")
    playlist_limit: int = 500
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
    # "scheme://host[:port]" origins exempt from the private-address check (test servers, a LAN CDN).
    trusted_origins: tuple[str, ...] = ()
    spotify_client_id: str | None = None
    spotify_client_secret: str | None = None
    spotify_api_base: str = "https://api.spotify.com/v1"
    spotify_accounts_base: str = "https://accounts.spotify.com"
    library_dir: Path | None = None
    library_rescan_seconds: float = 5.0  # how often a library search may look for changed files
    ytdlp_timeout: float = 30.0
    ytdlp_workers: int = 3  # started on demand: a slow site holds one worker, not every guild
    ffmpeg_path: str | None = None
    http_timeout: float = 10.0
    max_redirects: int = 5
    stream_limit_minutes: int = 240  # how long a stream without a declared size (radio) may play
    ytdlp: YtDlpConfig = field(default_factory=YtDlpConfig)  # JS runtime, cookies, proxy

    def ffmpeg_executable(self) -> str:
        """The ffmpeg binary: the configured one, else the one shipped in the imageio-ffmpeg wheel."""
        if self.ffmpeg_path:
            return self.ffmpeg_path
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
