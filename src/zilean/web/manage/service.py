"""What the managers' pages and API do: read and save permissions and settings (through the bus, so the
bot's checks and audit apply), explain a member's rights, read the audit log and the listening stats."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from zilean.core.permissions import Action, Basis, Decision
from zilean.db import Database
from zilean.db.connector import utcnow
from zilean.db.records import AuditEntry, GuildSettings, MemberInfo, PermissionRule
from zilean.db.repos.audit import AuditFilter
from zilean.web.manage.access import explain_member
from zilean.web.manage.forms import FLAGS, TO_BOOL, TO_WORD, PermissionsBody, SettingsBody
from zilean.web.services import Services
from zilean.web.sessions import SessionUser
from zilean.web.views import ActionResult

ACTION_LABELS = {
    Action.PLAY: "Add tracks",
    Action.JOIN: "Bring the bot to voice",
    Action.CONTROL: "Pause, volume, effects, seek",
    Action.SKIP: "Skip",
    Action.CLEAR: "Clear, stop, remove, move",
    Action.SETTINGS: "Change settings",
}
BASIS_LABELS = {
    Basis.OWNER: "server owner",
    Basis.ADMINISTRATOR: "administrator",
    Basis.DJ_ROLE: "DJ role",
    Basis.VOICE: "voice channel",
    Basis.MEMBER_RULE: "member rule",
    Basis.ROLE_RULE: "role rule",
    Basis.EVERYONE_RULE: "@everyone rule",
    Basis.ALONE: "alone with the bot",
    Basis.DEFAULT: "default",
}


@dataclass(frozen=True, slots=True)
class MatrixRow:
    """One role or member and its verdict words per capability."""

    kind: str
    target_id: int
    name: str
    verdicts: dict[str, str]

    def json(self) -> dict[str, Any]:
        return {
            "target_kind": self.kind,
            "target_id": str(self.target_id),
            "name": self.name,
            **self.verdicts,
        }


@dataclass
class SaveResult:
    """How saving went: each bus command's result, or the field errors that stopped it."""

    results: list[ActionResult] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and all(result.ok for result in self.results)

    @property
    def status(self) -> int:
        if self.errors:
            return 422
        failed = [r for r in self.results if not r.ok]
        return failed[0].http_status if failed else 200

    @property
    def message(self) -> str:
        if self.errors:
            return "Some fields need fixing."
        if not self.results:
            return "Nothing changed."
        return "\n".join(r.message for r in self.results if r.message) or "Saved."

    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": self.ok, "message" if self.ok else "error": self.message}
        if self.errors:
            body["errors"] = self.errors
        body["results"] = [r.json() for r in self.results]
        return body


def explanation_text(decision: Decision, role_names: dict[int, str], dj_role_name: str | None) -> str:
    """One sentence saying which step decided, for people."""
    verb = "allows" if decision.allowed else "denies"
    basis = decision.basis
    if basis is Basis.OWNER:
        return "The server's owner may do everything."
    if basis is Basis.ADMINISTRATOR:
        return "Administrators (and members with Manage Server) may do everything."
    if basis is Basis.DJ_ROLE:
        return f"Has the DJ role{f' @{dj_role_name}' if dj_role_name else ''}, which may do everything."
    if basis is Basis.VOICE:
        return decision.reason
    if basis is Basis.MEMBER_RULE:
        return f"A rule for this member {verb} it."
    if basis is Basis.ROLE_RULE:
        name = role_names.get(decision.role_id or 0, str(decision.role_id))
        return f"The rule for the role @{name} {verb} it."
    if basis is Basis.EVERYONE_RULE:
        return f"The rule for @everyone {verb} it."
    if basis is Basis.ALONE:
        return "Alone with the bot in voice: may do what playback touches."
    if decision.allowed:
        return "The default: listeners may play, skip and control playback."
    return f"The default: {decision.reason}"


def settings_json(s: GuildSettings) -> dict[str, Any]:
    """A guild's settings as the API shows them (ids as strings)."""
    return {
        "prefix": s.prefix,
        "dj_role_id": str(s.dj_role_id) if s.dj_role_id else None,
        "volume": s.volume,
        "idle_timeout_s": s.idle_timeout_s,
        "always_on": s.always_on,
        "announce_channel_id": str(s.announce_channel_id) if s.announce_channel_id else None,
        "vote_skip_ratio": s.vote_skip_ratio,
        "max_track_length_s": s.max_track_length_s,
        "max_queue_per_member": s.max_queue_per_member,
        "audit_retention_days": s.audit_retention_days,
        "fair_queue": s.fair_queue,
        "autoplay": s.autoplay,
    }


class ManageService:
    """The managers' operations; bot-bound changes go through `Services.run_command`."""

    def __init__(self, services: Services) -> None:
        self.services = services

    @property
    def db(self) -> Database:
        return self.services.db

    # --- permissions --------------------------------------------------------------------------

    async def matrix(self, guild_id: int, extra_user: int | None = None) -> list[MatrixRow]:
        """Every role (highest first, @everyone last) and every member with a rule (or `extra_user`)."""
        rules = {(r.target_kind, r.target_id): r for r in await self.db.permissions.rules(guild_id)}
        rows = []
        roles = sorted(
            await self.db.directory.roles(guild_id), key=lambda r: (r.role_id == guild_id, -r.position)
        )
        for role in roles:
            name = "@everyone" if role.role_id == guild_id else role.name
            rows.append(MatrixRow("role", role.role_id, name, _words(rules.get(("role", role.role_id)))))
        users = {target for kind, target in rules if kind == "user"} | ({extra_user} if extra_user else set())
        for user_id in sorted(users):
            member = await self.db.directory.member(guild_id, user_id)
            name = member.display_name if member else f"user {user_id} (not on the server)"
            rows.append(MatrixRow("user", user_id, name, _words(rules.get(("user", user_id)))))
        return rows

    async def save_permissions(
        self, user: SessionUser, guild_id: int, body: PermissionsBody, client_ip: str | None
    ) -> SaveResult:
        """Send the changed rows to the bot, one `permission` command per role or member."""
        saved = SaveResult()
        roles = {role.role_id for role in await self.db.directory.roles(guild_id)}
        current = {(r.target_kind, r.target_id): r for r in await self.db.permissions.rules(guild_id)}
        changes = []
        for i, row in enumerate(body.rules):
            target = int(row.target_id)
            known = target in roles if row.target_kind == "role" else await self._member(guild_id, target)
            if not known:
                saved.errors[f"rules.{i}.target_id"] = f"no such {row.target_kind} on this server"
                continue
            before = _words(current.get((row.target_kind, target)))
            wanted = {flag: getattr(row, flag) for flag in FLAGS}
            changed = {f"can_{flag}": TO_BOOL[word] for flag, word in wanted.items() if word != before[flag]}
            if changed:
                changes.append({"target_kind": row.target_kind, "target_id": target, "rules": changed})
        if saved.errors:
            return saved
        for payload in changes:
            result = await self.services.run_command(
                user, guild_id, "permission", payload, client_ip=client_ip
            )
            saved.results.append(result)
            if not result.ok:
                break
        return saved

    async def _member(self, guild_id: int, user_id: int) -> MemberInfo | None:
        return await self.db.directory.member(guild_id, user_id)

    async def explain(self, guild_id: int, member: MemberInfo) -> list[dict[str, Any]]:
        """Per action: allowed or not, the rule that decided, and a sentence saying so."""
        table = await explain_member(self.db, guild_id, member, self.services.bot_user_id)
        role_names = {role.role_id: role.name for role in await self.db.directory.roles(guild_id)}
        role_names[guild_id] = "everyone"
        dj = (await self.db.guild_settings.get(guild_id)).dj_role_id
        dj_name = role_names.get(dj) if dj else None
        rows = []
        for action, decision in table.items():
            rows.append(
                {
                    "action": action.value,
                    "label": ACTION_LABELS[action],
                    "allowed": decision.allowed,
                    "rule": decision.basis.value,
                    "rule_label": BASIS_LABELS[decision.basis],
                    "role_id": str(decision.role_id) if decision.role_id is not None else None,
                    "reason": decision.reason,
                    "may_vote": decision.may_vote,
                    "explanation": explanation_text(decision, role_names, dj_name),
                }
            )
        return rows

    # --- settings -----------------------------------------------------------------------------

    async def save_settings(
        self, user: SessionUser, guild_id: int, body: SettingsBody, client_ip: str | None
    ) -> SaveResult:
        """Send the settings that differ to the bot in one `settings` command."""
        saved = SaveResult()
        if body.dj_role_id is not None:
            roles = {role.role_id for role in await self.db.directory.roles(guild_id)}
            if int(body.dj_role_id) not in roles:
                saved.errors["dj_role_id"] = "no such role on this server"
        if body.announce_channel_id is not None:
            channels = {c.channel_id for c in await self.db.directory.channels(guild_id, "text")}
            if int(body.announce_channel_id) not in channels:
                saved.errors["announce_channel_id"] = "no such text channel on this server"
        if saved.errors:
            return saved
        current = settings_json(await self.db.guild_settings.get(guild_id))
        optional = ("fair_queue", "autoplay")  # left out by older clients: unchanged
        wanted = {
            key: value for key, value in body.model_dump().items() if value is not None or key not in optional
        }
        changes = {key: value for key, value in wanted.items() if value != current[key]}
        if "prefix" in changes and changes["prefix"] is None:
            changes["prefix"] = self.services.settings.command_prefix  # the bot's command needs one
        for key in ("dj_role_id", "announce_channel_id"):
            if key in changes and changes[key] is not None:
                changes[key] = int(changes[key])
        if changes:
            payload = {"changes": changes}
            saved.results.append(
                await self.services.run_command(user, guild_id, "settings", payload, client_ip=client_ip)
            )
        return saved

    # --- audit and stats ----------------------------------------------------------------------

    async def audit_page(
        self, guild_id: int, where: AuditFilter, cursor: int | None, limit: int = 50
    ) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the log with members' names, and the next cursor."""
        page = await self.db.audit.page(guild_id, where, cursor, limit)
        actors = {e.actor_id for e in page.entries if e.actor_id is not None}
        members = await self.db.directory.members(guild_id, actors)  # one query for the page's names
        rows = []
        for entry in page.entries:
            member = members.get(entry.actor_id) if entry.actor_id is not None else None
            name = member.display_name if member else (str(entry.actor_id) if entry.actor_id else "—")
            rows.append({**audit_json(entry), "actor_name": name})
        return rows, page.next_cursor

    async def _name(self, guild_id: int, user_id: int | None, cache: dict[int, str]) -> str:
        if user_id is None:
            return "—"
        if user_id not in cache:
            member = await self.db.directory.member(guild_id, user_id)
            cache[user_id] = member.display_name if member else str(user_id)
        return cache[user_id]

    async def stats(self, guild_id: int, days: int = 84) -> dict[str, Any]:
        """Top tracks and requesters over `days`, and hours per week (12 weeks)."""
        since = utcnow() - timedelta(days=days)
        names: dict[int, str] = {}
        requesters = []
        for row in await self.db.stats.top_requesters(guild_id, since):
            requesters.append(
                {
                    "user_id": str(row.user_id),
                    "name": await self._name(guild_id, row.user_id, names),
                    "plays": row.plays,
                    "duration_ms": row.duration_ms,
                }
            )
        return {
            "days": days,
            "top_tracks": [
                {"title": t.title, "url": t.url, "plays": t.plays}
                for t in await self.db.stats.top_tracks(guild_id, since)
            ],
            "top_requesters": requesters,
            "weeks": [
                {
                    "week_start": w.week_start.date().isoformat(),
                    "hours": round(w.duration_ms / 3_600_000, 2),
                    "plays": w.plays,
                }
                for w in await self.db.stats.weekly(guild_id)
            ],
        }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry as the API shows it."""
    return {
        "id": str(entry.id),
        "at": entry.at.isoformat() if entry.at else None,
        "actor_id": str(entry.actor_id) if entry.actor_id is not None else None,
        "origin": entry.origin,
        "action": entry.action,
        "detail": entry.detail,
    }


def _words(rule: PermissionRule | None) -> dict[str, str]:
    if rule is None:
        return dict.fromkeys(FLAGS, "default")
    return {flag: TO_WORD[getattr(rule, f"can_{flag}")] for flag in FLAGS}
