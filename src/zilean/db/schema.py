"""The whole schema as SQLAlchemy Core tables; Alembic migrations must match it (a test checks)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

# Named constraints, so SQLite batch migrations and downgrades can find them again.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Discord snowflakes need 64 bits. SQLite only auto-increments an INTEGER PRIMARY KEY (the rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")
Timestamp = DateTime(timezone=True)

LOOP_MODES = ("off", "track", "queue")
COMMAND_STATUSES = ("pending", "claimed", "done", "refused", "failed", "expired")
AUDIT_ORIGINS = ("discord", "web", "cli")
PERMISSION_TARGETS = ("role", "user")
CHANNEL_KINDS = ("voice", "text")


def _one_of(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({listed})", name=name)


def _track_columns(prefix: str = "", *, required: bool = True) -> list[Column[object]]:
    """The Track fields, stored beside queue entries, history, playlists and the player state."""
    nullable = not required
    return [
        Column(f"{prefix}title", Text, nullable=nullable),
        Column(f"{prefix}url", Text, nullable=nullable),
        Column(f"{prefix}source", String(32), nullable=nullable),
        Column(f"{prefix}duration_ms", BigInteger),
        Column(f"{prefix}thumbnail", Text),
        Column(f"{prefix}artist", Text),
        Column(f"{prefix}requester_id", BigInteger),
        # Autoplay chose it when the queue ran out (no member requested it).
        Column(f"{prefix}autoplay", Boolean, nullable=False, server_default=text("false")),
    ]


guild_settings = Table(
    "guild_settings",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("prefix", String(5)),  # NULL: use COMMAND_PREFIX
    Column("volume", SmallInteger, nullable=False, server_default=text("100")),  # shown percent 0–200
    Column("effects", Json, nullable=False, server_default=text("'[]'")),
    Column("loop_mode", String(8), nullable=False, server_default=text("'off'")),
    Column("dj_role_id", BigInteger),
    Column("idle_timeout_s", Integer, nullable=False, server_default=text("300")),
    Column("always_on", Boolean, nullable=False, server_default=text("false")),  # 24/7 mode
    Column("announce_channel_id", BigInteger),
    Column("updated_at", Timestamp, nullable=False),
    # A skip vote passes with more than this fraction of the listeners.
    Column("vote_skip_ratio", Float, nullable=False, server_default=text("0.5")),
    Column("max_track_length_s", Integer),  # NULL: no limit
    Column("max_queue_per_member", Integer),  # queued tracks per member; NULL: no limit
    Column("audit_retention_days", Integer, nullable=False, server_default=text("90")),
    Column("eq", Json, nullable=False, server_default=text("'{}'")),  # {"hz": dB} of bands not at 0
    # Fair queue: new tracks are interleaved round-robin by requester instead of appended.
    Column("fair_queue", Boolean, nullable=False, server_default=text("false")),
    # Autoplay: when the queue runs out, keep playing related tracks.
    Column("autoplay", Boolean, nullable=False, server_default=text("false")),
    CheckConstraint("volume BETWEEN 0 AND 200", name="volume_range"),
    CheckConstraint("idle_timeout_s >= 0", name="idle_timeout_positive"),
    CheckConstraint("vote_skip_ratio > 0 AND vote_skip_ratio <= 1", name="vote_skip_ratio_range"),
    CheckConstraint("audit_retention_days >= 1", name="audit_retention_positive"),
    _one_of("loop_mode", LOOP_MODES, "loop_mode_known"),
)

# A server's own equalizer presets (`/eq save NAME`), beside the built-in ones.
eq_presets = Table(
    "eq_presets",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(32), primary_key=True),
    Column("gains", Json, nullable=False),  # {"hz": dB}, as guild_settings.eq
    Column("created_by", BigInteger),
    Column("updated_at", Timestamp, nullable=False),
)

player_state = Table(
    "player_state",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("voice_channel_id", BigInteger),
    Column("text_channel_id", BigInteger),
    *_track_columns("track_", required=False),  # the current track; NULL title: nothing playing
    # Position anchor: at anchor_at playback was at position_ms; while playing it advances with the clock.
    Column("position_ms", BigInteger, nullable=False, server_default=text("0")),
    Column("anchor_at", Timestamp),
    Column("paused", Boolean, nullable=False, server_default=text("false")),
    Column("volume", SmallInteger, nullable=False, server_default=text("100")),
    Column("effects", Json, nullable=False, server_default=text("'[]'")),
    Column("loop_mode", String(8), nullable=False, server_default=text("'off'")),
    Column("updated_at", Timestamp, nullable=False),
    _one_of("loop_mode", LOOP_MODES, "loop_mode_known"),
)

# Upcoming tracks. `position` is a gapped sort key: a move or insert rewrites one row; the queue is
# re-spaced only when two neighbours have no gap left (see db/ordering.py).
queue_entries = Table(
    "queue_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    *_track_columns(),
    Column("added_at", Timestamp, nullable=False),
    UniqueConstraint("guild_id", "position"),
)

play_history = Table(
    "play_history",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    *_track_columns(),
    Column("played_at", Timestamp, nullable=False),
    Index(None, "guild_id", "id"),
)

users = Table(
    "users",
    metadata,
    Column("discord_id", BigInteger, primary_key=True, autoincrement=False),
    Column("username", String(100), nullable=False),
    Column("avatar", String(200)),
    # OAuth tokens, encrypted by the web layer before they get here; never stored in clear.
    Column("access_token_enc", Text),
    Column("refresh_token_enc", Text),
    Column("token_expires_at", Timestamp),
    Column("created_at", Timestamp, nullable=False),
    Column("last_login_at", Timestamp),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # 128-bit random (or its hash), URL-safe text
    Column(
        "user_id", BigInteger, ForeignKey("users.discord_id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    # The sooner of last use + idle lifetime and created_at + absolute lifetime; slid forward on use.
    Column("expires_at", Timestamp, nullable=False, index=True),
    Column("revoked", Boolean, nullable=False, server_default=text("false")),
    Column("last_seen_at", Timestamp),
    # This login's Discord tokens, encrypted by the web layer (logout revokes exactly these).
    Column("access_token_enc", Text),
    Column("refresh_token_enc", Text),
    Column("token_expires_at", Timestamp),
    # The login-time /users/@me/guilds answer: only for "add the bot" links, never for access.
    Column("discord_guilds", Json, nullable=False, server_default=text("'[]'")),
)

# OAuth2 logins in flight: one row per /login, deleted when its callback arrives (one use, 10 minutes).
web_login_states = Table(
    "web_login_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),  # sha256 of the `state` sent to Discord
    Column("browser_hash", String(64), nullable=False),  # sha256 of the login cookie it is bound to
    Column("verifier_enc", Text, nullable=False),  # the PKCE code verifier, encrypted
    Column("next_path", String(200)),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False, index=True),
)

# Roadmap 3.2 per role and per user. NULL = not set (inherit), true = allowed, false = denied.
permissions = Table(
    "permissions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("target_kind", String(4), nullable=False),
    Column("target_id", BigInteger, nullable=False),
    Column("can_play", Boolean),
    Column("can_skip", Boolean),
    Column("can_clear", Boolean),
    Column("can_settings", Boolean),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("guild_id", "target_kind", "target_id"),
    _one_of("target_kind", PERMISSION_TARGETS, "target_kind_known"),
)

# The bus, web → bot: the web inserts 'pending'; a bot process claims, acts and records the outcome.
commands = Table(
    "commands",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, nullable=False),
    Column("action", String(32), nullable=False),
    Column("payload", Json, nullable=False, server_default=text("'{}'")),
    Column("user_id", BigInteger),
    # Where the command came from ("web" or "cli"); the bot's audit log records it.
    Column("origin", String(8), nullable=False, server_default=text("'web'")),
    Column("status", String(10), nullable=False, server_default=text("'pending'")),
    Column("outcome", Text),
    Column("claimed_by", String(64)),
    Column("created_at", Timestamp, nullable=False),
    Column("claimed_at", Timestamp),
    Column("finished_at", Timestamp),
    Index(None, "status", "guild_id", "id"),  # the claim query: pending rows of my guilds, oldest first
    Index(None, "guild_id", "id"),
    _one_of("status", COMMAND_STATUSES, "status_known"),
    _one_of("origin", AUDIT_ORIGINS, "origin_known"),
)

# The bus, bot → web: append-only; listeners read rows with id > last seen.
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger),
    Column("kind", String(32), nullable=False),
    Column("payload", Json, nullable=False, server_default=text("'{}'")),
    Column("created_at", Timestamp, nullable=False, index=True),
    Index(None, "guild_id", "id"),
)

bot_heartbeats = Table(
    "bot_heartbeats",
    metadata,
    Column("process_id", String(64), primary_key=True),
    Column("shard_ids", Json, nullable=False, server_default=text("'[]'")),
    Column("shard_count", Integer, nullable=False, server_default=text("1")),  # routing: guild → shard
    Column("started_at", Timestamp, nullable=False),
    Column("last_seen", Timestamp, nullable=False, index=True),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger),
    Column("actor_id", BigInteger),
    Column("origin", String(8), nullable=False),
    Column("action", String(48), nullable=False),
    Column("detail", Json, nullable=False, server_default=text("'{}'")),
    Column("at", Timestamp, nullable=False, index=True),  # pruning by age
    Index(None, "guild_id", "id"),
    # The dashboard's filters, newest first (keyset pagination on id).
    Index(None, "guild_id", "actor_id", "id"),
    Index(None, "guild_id", "action", "id"),
    Index(None, "guild_id", "origin", "id"),
    _one_of("origin", AUDIT_ORIGINS, "origin_known"),
)

# Saved playlists: guild_id NULL means a user's personal playlist.
playlists = Table(
    "playlists",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("guild_id", BigInteger, index=True),
    Column("owner_id", BigInteger, nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

playlist_tracks = Table(
    "playlist_tracks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("playlist_id", BigId, ForeignKey("playlists.id", ondelete="CASCADE"), nullable=False),
    Column("position", BigInteger, nullable=False),
    *_track_columns(),
    Column("added_at", Timestamp, nullable=False),
    UniqueConstraint("playlist_id", "position"),
)

# The directory: what the bot's live view of each guild holds, published for the web (which may not
# ask Discord itself). Rewritten whole when the bot (re)joins a guild, kept current from gateway events.
guilds = Table(
    "guilds",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("icon_url", Text),
    Column("owner_id", BigInteger),
    Column("updated_at", Timestamp, nullable=False),
)

guild_channels = Table(
    "guild_channels",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("channel_id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(5), nullable=False),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False, server_default=text("0")),
    _one_of("kind", CHANNEL_KINDS, "kind_known"),
)

guild_roles = Table(
    "guild_roles",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("role_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("position", Integer, nullable=False, server_default=text("0")),
    Column("color", Integer, nullable=False, server_default=text("0")),
    Column("permissions", BigInteger, nullable=False, server_default=text("0")),  # Discord's bit field
)

guild_members = Table(
    "guild_members",
    metadata,
    Column("guild_id", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(100), nullable=False),
    Column("display_name", String(100), nullable=False),
    Column("avatar_url", Text),
    Column("role_ids", Json, nullable=False, server_default=text("'[]'")),
    Column("is_owner", Boolean, nullable=False, server_default=text("false")),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    Column("voice_channel_id", BigInteger),
    Column("updated_at", Timestamp, nullable=False),
    Index(None, "user_id"),  # guilds_of(user): the web's server list
    Index(None, "guild_id", "voice_channel_id"),  # who is in a voice channel
)
