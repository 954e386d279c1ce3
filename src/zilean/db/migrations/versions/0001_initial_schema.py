"""Initial schema: every table of the roadmap (see zilean/db/schema.py for what each holds).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-24 00:58:40.097981
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of schema.py's shared types: a migration must not change when schema.py does.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("origin", sa.String(length=8), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("detail", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("origin IN ('discord', 'web', 'cli')", name=op.f("ck_audit_log_origin_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_guild_id_id"), ["guild_id", "id"], unique=False)

    op.create_table(
        "bot_heartbeats",
        sa.Column("process_id", sa.String(length=64), nullable=False),
        sa.Column("shard_ids", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("process_id", name=op.f("pk_bot_heartbeats")),
    )
    with op.batch_alter_table("bot_heartbeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_heartbeats_last_seen"), ["last_seen"], unique=False)

    op.create_table(
        "commands",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'claimed', 'done', 'refused', 'failed', 'expired')",
            name=op.f("ck_commands_status_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commands")),
    )
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commands_guild_id_id"), ["guild_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_commands_status_guild_id_id"), ["status", "guild_id", "id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", JSON, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_guild_id_id"), ["guild_id", "id"], unique=False)

    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("prefix", sa.String(length=5), nullable=True),
        sa.Column("volume", sa.SmallInteger(), server_default=sa.text("100"), nullable=False),
        sa.Column("effects", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("loop_mode", sa.String(length=8), server_default=sa.text("'off'"), nullable=False),
        sa.Column("dj_role_id", sa.BigInteger(), nullable=True),
        sa.Column("idle_timeout_s", sa.Integer(), server_default=sa.text("300"), nullable=False),
        sa.Column("always_on", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("announce_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "loop_mode IN ('off', 'track', 'queue')", name=op.f("ck_guild_settings_loop_mode_known")
        ),
        sa.CheckConstraint("idle_timeout_s >= 0", name=op.f("ck_guild_settings_idle_timeout_positive")),
        sa.CheckConstraint("volume BETWEEN 0 AND 200", name=op.f("ck_guild_settings_volume_range")),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )
    op.create_table(
        "permissions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("target_kind", sa.String(length=4), nullable=False),
        sa.Column("target_id", sa.BigInteger(), nullable=False),
        sa.Column("can_play", sa.Boolean(), nullable=True),
        sa.Column("can_skip", sa.Boolean(), nullable=True),
        sa.Column("can_clear", sa.Boolean(), nullable=True),
        sa.Column("can_settings", sa.Boolean(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("target_kind IN ('role', 'user')", name=op.f("ck_permissions_target_kind_known")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
        sa.UniqueConstraint(
            "guild_id", "target_kind", "target_id", name=op.f("uq_permissions_guild_id_target_kind_target_id")
        ),
    )
    op.create_table(
        "play_history",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("artist", sa.Text(), nullable=True),
        sa.Column("requester_id", sa.BigInteger(), nullable=True),
        sa.Column("played_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_play_history")),
    )
    with op.batch_alter_table("play_history", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_play_history_guild_id_id"), ["guild_id", "id"], unique=False)

    op.create_table(
        "player_state",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("voice_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("text_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("track_title", sa.Text(), nullable=True),
        sa.Column("track_url", sa.Text(), nullable=True),
        sa.Column("track_source", sa.String(length=32), nullable=True),
        sa.Column("track_duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("track_thumbnail", sa.Text(), nullable=True),
        sa.Column("track_artist", sa.Text(), nullable=True),
        sa.Column("track_requester_id", sa.BigInteger(), nullable=True),
        sa.Column("position_ms", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("anchor_at", TIMESTAMP, nullable=True),
        sa.Column("paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("volume", sa.SmallInteger(), server_default=sa.text("100"), nullable=False),
        sa.Column("effects", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("loop_mode", sa.String(length=8), server_default=sa.text("'off'"), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "loop_mode IN ('off', 'track', 'queue')", name=op.f("ck_player_state_loop_mode_known")
        ),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_player_state")),
    )
    op.create_table(
        "playlists",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlists")),
    )
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_playlists_guild_id"), ["guild_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_playlists_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "queue_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("guild_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("artist", sa.Text(), nullable=True),
        sa.Column("requester_id", sa.BigInteger(), nullable=True),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
        sa.UniqueConstraint("guild_id", "position", name=op.f("uq_queue_entries_guild_id_position")),
    )
    op.create_table(
        "users",
        sa.Column("discord_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("avatar", sa.String(length=200), nullable=True),
        sa.Column("access_token_enc", sa.Text(), nullable=True),
        sa.Column("refresh_token_enc", sa.Text(), nullable=True),
        sa.Column("token_expires_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("discord_id", name=op.f("pk_users")),
    )
    op.create_table(
        "playlist_tracks",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("playlist_id", BIG_ID, nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("artist", sa.Text(), nullable=True),
        sa.Column("requester_id", sa.BigInteger(), nullable=True),
        sa.Column("added_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["playlist_id"],
            ["playlists.id"],
            name=op.f("fk_playlist_tracks_playlist_id_playlists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playlist_tracks")),
        sa.UniqueConstraint("playlist_id", "position", name=op.f("uq_playlist_tracks_playlist_id_position")),
    )
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("revoked", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.discord_id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_expires_at"))

    op.drop_table("web_sessions")
    op.drop_table("playlist_tracks")
    op.drop_table("users")
    op.drop_table("queue_entries")
    with op.batch_alter_table("playlists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_playlists_owner_id"))
        batch_op.drop_index(batch_op.f("ix_playlists_guild_id"))

    op.drop_table("playlists")
    op.drop_table("player_state")
    with op.batch_alter_table("play_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_play_history_guild_id_id"))

    op.drop_table("play_history")
    op.drop_table("permissions")
    op.drop_table("guild_settings")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_guild_id_id"))
        batch_op.drop_index(batch_op.f("ix_events_created_at"))

    op.drop_table("events")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commands_status_guild_id_id"))
        batch_op.drop_index(batch_op.f("ix_commands_guild_id_id"))

    op.drop_table("commands")
    with op.batch_alter_table("bot_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_heartbeats_last_seen"))

    op.drop_table("bot_heartbeats")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_guild_id_id"))

    op.drop_table("audit_log")
