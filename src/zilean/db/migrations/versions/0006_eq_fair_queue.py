"""Equalizer and fair queue: per-guild band gains and fair-queue flag; the servers' own EQ presets.

- guild_settings.eq: {"hz": dB} of the bands not at 0 (the guild's equalizer, kept across sessions).
- guild_settings.fair_queue: interleave requesters round-robin when tracks are added.
- eq_presets: presets a server saved with `/eq save NAME`.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eq", JSON, server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(
            sa.Column("fair_queue", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
    op.create_table(
        "eq_presets",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("gains", JSON, nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", "name", name=op.f("pk_eq_presets")),
    )


def downgrade() -> None:
    op.drop_table("eq_presets")
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_column("fair_queue")
        batch_op.drop_column("eq")
