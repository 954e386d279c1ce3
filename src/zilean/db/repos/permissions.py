"""PermissionsRepo: per-role and per-member rules (allowed / denied / not set) for each action."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import and_, delete, or_, select

from zilean.db.connector import Connector, as_utc, utcnow
from zilean.db.records import PermissionRule, TargetKind
from zilean.db.schema import PERMISSION_TARGETS
from zilean.db.schema import permissions as p

FLAGS = ("can_play", "can_skip", "can_clear", "can_settings")


class PermissionsRepo:
    """Rules per guild; deciding what they add up to is the caller's (bot checks) job."""

    def __init__(self, db: Connector) -> None:
        self._db = db

    async def set(
        self, guild_id: int, kind: TargetKind, target_id: int, **flags: bool | None
    ) -> PermissionRule:
        """Set some flags of a role's or member's rule (True, False, or None to unset)."""
        _check_kind(kind)
        unknown = set(flags) - set(FLAGS)
        if unknown:
            raise ValueError(f"unknown permission flags: {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {name: flags[name] for name in FLAGS if name in flags}
        values["updated_at"] = utcnow()
        key = {"guild_id": guild_id, "target_kind": kind, "target_id": target_id}
        stmt = self._db.upsert(p, {**key, **values}, list(key), list(values))
        async with self._db.write() as conn:
            await conn.execute(stmt)
        rule = await self.get(guild_id, kind, target_id)
        assert rule is not None
        return rule

    async def get(self, guild_id: int, kind: TargetKind, target_id: int) -> PermissionRule | None:
        """One role's or member's rule, or None."""
        stmt = select(p).where(p.c.guild_id == guild_id, p.c.target_kind == kind, p.c.target_id == target_id)
        async with self._db.read() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return None if row is None else _rule(row)

    async def rules(self, guild_id: int) -> list[PermissionRule]:
        """Every rule of the guild, roles first."""
        stmt = select(p).where(p.c.guild_id == guild_id).order_by(p.c.target_kind, p.c.target_id)
        async with self._db.read() as conn:
            return [_rule(row) for row in (await conn.execute(stmt)).mappings()]

    async def rules_for(self, guild_id: int, user_id: int, role_ids: Iterable[int]) -> list[PermissionRule]:
        """The rules that apply to a member: their own and those of their roles."""
        roles = list(role_ids)
        who = [and_(p.c.target_kind == "user", p.c.target_id == user_id)]
        if roles:
            who.append(and_(p.c.target_kind == "role", p.c.target_id.in_(roles)))
        stmt = select(p).where(p.c.guild_id == guild_id, or_(*who)).order_by(p.c.target_kind, p.c.target_id)
        async with self._db.read() as conn:
            return [_rule(row) for row in (await conn.execute(stmt)).mappings()]

    async def delete(self, guild_id: int, kind: TargetKind, target_id: int) -> bool:
        """Remove a rule; True if there was one."""
        stmt = delete(p).where(p.c.guild_id == guild_id, p.c.target_kind == kind, p.c.target_id == target_id)
        async with self._db.write() as conn:
            return bool((await conn.execute(stmt)).rowcount)


def _check_kind(kind: str) -> None:
    if kind not in PERMISSION_TARGETS:
        raise ValueError(f"permission target must be one of {PERMISSION_TARGETS}, not {kind!r}")


def _rule(row: Any) -> PermissionRule:
    return PermissionRule(
        guild_id=row["guild_id"],
        target_kind=cast(TargetKind, row["target_kind"]),
        target_id=row["target_id"],
        can_play=row["can_play"],
        can_skip=row["can_skip"],
        can_clear=row["can_clear"],
        can_settings=row["can_settings"],
        updated_at=as_utc(row["updated_at"]),
    )
