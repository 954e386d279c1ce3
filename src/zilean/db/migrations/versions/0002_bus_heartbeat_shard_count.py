"""Bus routing: bot heartbeats record their shard count, so anyone can tell which guilds have a live owner.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bot_heartbeats", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shard_count", sa.Integer(), server_default=sa.text("1"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("bot_heartbeats", schema=None) as batch_op:
        batch_op.drop_column("shard_count")
