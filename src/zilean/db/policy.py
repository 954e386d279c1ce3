"""A guild's permission policy (core) from what the database stores: settings and rules."""

from __future__ import annotations

from collections.abc import Sequence

from zilean.core.permissions import GuildPolicy, PermissionRule
from zilean.db.records import GuildSettings
from zilean.db.records import PermissionRule as StoredRule


def policy_from(settings: GuildSettings, rules: Sequence[StoredRule]) -> GuildPolicy:
    """The permission policy of a guild from its stored settings and rules (@everyone is the guild id)."""
    converted = tuple(
        PermissionRule(
            role_id=rule.target_id if rule.target_kind == "role" else None,
            user_id=rule.target_id if rule.target_kind == "user" else None,
            play=rule.can_play,
            skip=rule.can_skip,
            clear=rule.can_clear,
            settings=rule.can_settings,
        )
        for rule in rules
    )
    return GuildPolicy(dj_role_id=settings.dj_role_id, rules=converted, everyone_role_id=settings.guild_id)
