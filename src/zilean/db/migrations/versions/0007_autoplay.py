"""Autoplay: the per-guild setting, and which tracks autoplay chose.

- guild_settings.autoplay: when the queue runs out, keep playing related tracks.
- autoplay on every table with track columns (player_state as track_autoplay): the track was
  chosen by autoplay, not requested, so Discord and the dashboard can mark it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, column) of the track columns' new flag.
TRACK_FLAGS = (
    ("player_state", "track_autoplay"),
    ("queue_entries", "autoplay"),
    ("play_history", "autoplay"),
    ("playlist_tracks", "autoplay"),
)


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), server_default=sa.text("false"), nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(_flag("autoplay"))
    for table, column in TRACK_FLAGS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(_flag(column))


def downgrade() -> None:
    for table, column in reversed(TRACK_FLAGS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column(column)
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_column("autoplay")
