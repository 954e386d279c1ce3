"""The directory: guilds, their channels, roles and members as the bot sees them, for the web.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of schema.py's shared types: a migration must not change when schema.py does.
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "guilds",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("icon_url", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guilds")),
    )
    op.create_table(
        "guild_channels",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("channel_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.CheckConstraint("kind IN ('voice', 'text')", name=op.f("ck_guild_channels_kind_known")),
        sa.PrimaryKeyConstraint("guild_id", "channel_id", name=op.f("pk_guild_channels")),
    )
    op.create_table(
        "guild_roles",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("role_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("color", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("permissions", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "role_id", name=op.f("pk_guild_roles")),
    )
    op.create_table(
        "guild_members",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.Column("avatar_url", sa.Text(), nullable=True),
        sa.Column("role_ids", JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("is_owner", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("is_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("voice_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "user_id", name=op.f("pk_guild_members")),
    )
    with op.batch_alter_table("guild_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_guild_members_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_guild_members_guild_id_voice_channel_id"),
            ["guild_id", "voice_channel_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("guild_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_guild_members_guild_id_voice_channel_id"))
        batch_op.drop_index(batch_op.f("ix_guild_members_user_id"))
    op.drop_table("guild_members")
    op.drop_table("guild_roles")
    op.drop_table("guild_channels")
    op.drop_table("guilds")
