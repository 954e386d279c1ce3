"""Server managers: bus commands say where they came from; new guild settings; audit filters and pruning.

- commands.origin: "web" or "cli" (the bot records it in the audit log instead of "discord").
- guild_settings: vote_skip_ratio, max_track_length_s, max_queue_per_member, audit_retention_days.
- audit_log: indexes for the dashboard's filters (member, action, origin; newest first) and for pruning.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 07:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=8), server_default=sa.text("'web'"), nullable=False)
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_commands_origin_known"), "origin IN ('discord', 'web', 'cli')"
        )
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vote_skip_ratio", sa.Float(), server_default=sa.text("0.5"), nullable=False)
        )
        batch_op.add_column(sa.Column("max_track_length_s", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("max_queue_per_member", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("audit_retention_days", sa.Integer(), server_default=sa.text("90"), nullable=False)
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_guild_settings_vote_skip_ratio_range"),
            "vote_skip_ratio > 0 AND vote_skip_ratio <= 1",
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_guild_settings_audit_retention_positive"), "audit_retention_days >= 1"
        )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_guild_id_actor_id_id"), ["guild_id", "actor_id", "id"])
        batch_op.create_index(batch_op.f("ix_audit_log_guild_id_action_id"), ["guild_id", "action", "id"])
        batch_op.create_index(batch_op.f("ix_audit_log_guild_id_origin_id"), ["guild_id", "origin", "id"])
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"])


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_guild_id_origin_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_guild_id_action_id"))
        batch_op.drop_index(batch_op.f("ix_audit_log_guild_id_actor_id_id"))
    with op.batch_alter_table("guild_settings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_guild_settings_audit_retention_positive"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_guild_settings_vote_skip_ratio_range"), type_="check")
        batch_op.drop_column("audit_retention_days")
        batch_op.drop_column("max_queue_per_member")
        batch_op.drop_column("max_track_length_s")
        batch_op.drop_column("vote_skip_ratio")
    with op.batch_alter_table("commands", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_commands_origin_known"), type_="check")
        batch_op.drop_column("origin")
