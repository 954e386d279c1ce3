"""The one permission policy, shared by the bot and the dashboard: who may do what in a guild.

Pure: the caller describes the member (`Actor`), the voice channel (`VoiceScene`) and the guild's
configuration (`GuildPolicy`); `decide()` answers with a `Decision` whose message is safe to show.

Order of precedence (first match wins):
1. Administrators and members with the guild's DJ role may do everything, from anywhere.
2. Playback actions need the member in the bot's voice channel (or, when the bot is not
   connected, in any voice channel so it can join them).
3. A per-user rule for the action's capability (play / skip / clear / settings).
4. The member's role rules: an allow on any role beats a deny on another, and both beat a rule on
   @everyone (Discord's overwrite model).
5. A member alone with the bot may do anything that playback touches (settings excluded:
   they outlive the session and belong to whoever runs the server).
6. The default: listeners may play, skip and control playback; clearing and settings need 1. or an allow.

A member refused an outright skip, but listening, may vote: more than half of the listeners
(bots excluded) must vote for the skip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum


class Capability(StrEnum):
    """What a per-guild rule may allow or deny (the roadmap's can_play, can_skip, can_clear, ...)."""

    PLAY = "play"
    SKIP = "skip"
    CLEAR = "clear"
    SETTINGS = "settings"


class Action(StrEnum):
    """Everything a command or a dashboard button can ask for."""

    PLAY = "play"  # play, playfile, search: add tracks
    JOIN = "join"  # join or move the bot into the member's channel
    CONTROL = "control"  # pause, resume, volume, effects, seek, loop, shuffle, replay, previous
    SKIP = "skip"
    CLEAR = "clear"  # clear, stop, remove, move, leave
    SETTINGS = "settings"  # settings, permissions, 24/7

    @property
    def capability(self) -> Capability | None:
        """The capability per-guild rules govern for this action (None: no rule applies)."""
        return _CAPABILITY.get(self)

    @property
    def needs_voice(self) -> bool:
        """True when the member must be in the bot's voice channel to do this."""
        return self is not Action.SETTINGS


_CAPABILITY = {
    Action.PLAY: Capability.PLAY,
    Action.SKIP: Capability.SKIP,
    Action.CLEAR: Capability.CLEAR,
    Action.SETTINGS: Capability.SETTINGS,
}

# What a listener may do when no rule says otherwise.
_DEFAULT_ALLOWED = frozenset({Action.PLAY, Action.JOIN, Action.CONTROL, Action.SKIP})


@dataclass(frozen=True, slots=True)
class PermissionRule:
    """Allow (True), deny (False) or leave to the default (None) each capability, for one role or user."""

    role_id: int | None = None
    user_id: int | None = None
    play: bool | None = None
    skip: bool | None = None
    clear: bool | None = None
    settings: bool | None = None

    def __post_init__(self) -> None:
        if (self.role_id is None) == (self.user_id is None):
            raise ValueError("a permission rule names exactly one role or one user")

    def verdict(self, capability: Capability) -> bool | None:
        """This rule's answer for `capability`, None when it does not say."""
        value: bool | None = getattr(self, capability.value)
        return value


@dataclass(frozen=True, slots=True)
class GuildPolicy:
    """A guild's permission configuration."""

    dj_role_id: int | None = None
    rules: tuple[PermissionRule, ...] = ()
    everyone_role_id: int | None = None  # Discord's @everyone role (the guild id): the weakest role rule


@dataclass(frozen=True, slots=True)
class Actor:
    """The member asking: their id, roles, whether they administer the guild, and their voice channel."""

    user_id: int
    role_ids: frozenset[int] = frozenset()
    is_admin: bool = False
    voice_channel_id: int | None = None


@dataclass(frozen=True, slots=True)
class VoiceScene:
    """The bot's voice channel (None when not connected) and the humans listening in it."""

    bot_channel_id: int | None = None
    listener_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: allowed or not, why (safe to show), and whether a refused skip may be voted."""

    allowed: bool
    reason: str
    may_vote: bool = False


def is_privileged(actor: Actor, policy: GuildPolicy) -> bool:
    """True for administrators and holders of the guild's DJ role."""
    return actor.is_admin or (policy.dj_role_id is not None and policy.dj_role_id in actor.role_ids)


def is_listening(actor: Actor, scene: VoiceScene) -> bool:
    """True when the member is in the bot's voice channel."""
    return scene.bot_channel_id is not None and actor.voice_channel_id == scene.bot_channel_id


def rule_verdict(actor: Actor, policy: GuildPolicy, capability: Capability) -> bool | None:
    """What the guild's rules say about `capability` for this member: user rule, then roles (allow wins)."""
    for rule in policy.rules:
        if rule.user_id == actor.user_id:
            verdict = rule.verdict(capability)
            if verdict is not None:
                return verdict
    role_verdicts = {
        rule.verdict(capability)
        for rule in policy.rules
        if rule.role_id is not None
        and rule.role_id in actor.role_ids
        and rule.role_id != policy.everyone_role_id
    }
    if True in role_verdicts:
        return True
    if False in role_verdicts:
        return False
    for rule in policy.rules:
        if rule.role_id is not None and rule.role_id == policy.everyone_role_id:
            return rule.verdict(capability)
    return None


def decide(action: Action, actor: Actor, scene: VoiceScene, policy: GuildPolicy) -> Decision:
    """May `actor` do `action` right now?"""
    if is_privileged(actor, policy):
        return Decision(True, "administrator or DJ")
    if action.needs_voice:
        refusal = _voice_refusal(action, actor, scene)
        if refusal is not None:
            return refusal
    capability = action.capability
    verdict = rule_verdict(actor, policy, capability) if capability is not None else None
    if verdict is not None:
        return _from_rule(action, verdict)
    if action is not Action.SETTINGS and is_alone_with_bot(actor, scene):
        return Decision(True, "alone with the bot")
    if action in _DEFAULT_ALLOWED:
        return Decision(True, "listener")
    return Decision(False, _REFUSALS[action])


def is_alone_with_bot(actor: Actor, scene: VoiceScene) -> bool:
    """True when the member is the only human in the bot's voice channel."""
    return is_listening(actor, scene) and scene.listener_ids <= {actor.user_id}


def votes_needed(listener_count: int) -> int:
    """Votes a skip needs: more than half of the listeners (bots are not listeners)."""
    return listener_count // 2 + 1


def vote_passes(voter_ids: Iterable[int], listener_ids: frozenset[int]) -> bool:
    """True when the votes of members still listening are more than half of the listeners."""
    if not listener_ids:
        return False
    counted = set(voter_ids) & listener_ids
    return len(counted) >= votes_needed(len(listener_ids))


def _voice_refusal(action: Action, actor: Actor, scene: VoiceScene) -> Decision | None:
    if actor.voice_channel_id is None:
        return Decision(False, "Join a voice channel first.")
    if scene.bot_channel_id is None:
        # Nothing is playing anywhere: whoever is in voice may bring the bot to them.
        return None
    if actor.voice_channel_id == scene.bot_channel_id:
        return None
    if action is Action.JOIN and not scene.listener_ids:
        return None  # the bot sits in an empty channel: moving it bothers nobody
    return Decision(False, "Join my voice channel first.")


def _from_rule(action: Action, verdict: bool) -> Decision:
    if verdict:
        return Decision(True, "allowed by this server's rules")
    return Decision(False, _RULE_REFUSALS[action], may_vote=action is Action.SKIP)


_REFUSALS = {
    Action.CLEAR: "Only a DJ, an administrator or someone alone with me may do that.",
    Action.SETTINGS: "Only a DJ or an administrator may change this server's settings.",
}

_RULE_REFUSALS = {
    Action.PLAY: "This server's rules don't let you add tracks.",
    Action.SKIP: "This server's rules don't let you skip outright, so your skip counts as a vote.",
    Action.CLEAR: "This server's rules don't let you clear or rearrange the queue.",
    Action.SETTINGS: "This server's rules don't let you change settings.",
}
