"""Dashboard login: per-session Discord tokens, idle tracking, the login-time guild list, OAuth states.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("access_token_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("refresh_token_enc", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("token_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("discord_guilds", JSON, server_default=sa.text("'[]'"), nullable=False))
    op.create_table(
        "web_login_states",
        sa.Column("state_hash", sa.String(length=64), nullable=False),
        sa.Column("browser_hash", sa.String(length=64), nullable=False),
        sa.Column("verifier_enc", sa.Text(), nullable=False),
        sa.Column("next_path", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state_hash", name=op.f("pk_web_login_states")),
    )
    with op.batch_alter_table("web_login_states", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_login_states_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_login_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_login_states_expires_at"))
    op.drop_table("web_login_states")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_column("discord_guilds")
        batch_op.drop_column("token_expires_at")
        batch_op.drop_column("refresh_token_enc")
        batch_op.drop_column("access_token_enc")
        batch_op.drop_column("last_seen_at")
