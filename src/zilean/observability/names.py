"""Every metric family the code exports (without `_total`/`_bucket` suffixes); tests hold the code to it.

The Grafana dashboard (deploy/grafana-dashboard.json) may use these and the process_* / python_*
families prometheus_client adds to every registry.
"""

from __future__ import annotations

BUS = frozenset({"zilean_bus_pending_commands", "zilean_bus_oldest_pending_seconds"})

BOT = BUS | frozenset(
    {
        "zilean_bot_guilds",
        "zilean_bot_voice_connections",
        "zilean_bot_streams_playing",
        "zilean_bot_gateway_latency_seconds",
        "zilean_sender_frames_sent",
        "zilean_sender_frames_missed",
        "zilean_sender_players",
        "zilean_sender_realtime",
        "zilean_sender_tick_seconds",
        "zilean_ffmpeg_starts",
        "zilean_ffmpeg_failures",
        "zilean_resolve_seconds",
        "zilean_resolves",
        "zilean_resolve_failures",
        "zilean_commands",
        "zilean_bus_command_lag_seconds",
    }
)

WEB = BUS | frozenset(
    {
        "zilean_http_requests",
        "zilean_http_request_duration_seconds",
        "zilean_sse_clients",
        "zilean_bots_live",
    }
)

# What prometheus_client's process, platform and GC collectors export (a registry from registry.py).
STANDARD_PREFIXES = ("process_", "python_")
