"""The one permission policy, shared by the bot and the dashboard: who may do what in a guild.

Pure: the caller describes the member (`Actor`), the voice channel (`VoiceScene`) and the guild's
configuration (`GuildPolicy`); `explain()` answers with a `Decision` whose message is safe to show
and whose `basis` names the rule that decided (the dashboard's "what may this member do?" shows it;
the bot's checks call the same function, so the two cannot disagree). `decide()` is its old name.

Order of precedence (first match wins):
1. The owner, administrators and members with the guild's DJ role may do everything, from anywhere.
2. Playback actions need the member in the bot's voice channel (or, when the bot is not
   connected, in any voice channel so it can join them).
3. A per-user rule for the action's capability (play / skip / clear / settings).
4. The member's role rules: an allow on any role beats a deny on another, and both beat a rule on
   @everyone (Discord's overwrite model).
5. A member alone with the bot may do anything that playback touches (settings excluded:
   they outlive the session and belong to whoever runs the server).
6. The default: listeners may play, skip and control playback; clearing and settings need 1. or an allow.

A member refused an outright skip, but listening, may vote: more than the guild's vote-skip ratio
(half by default) of the listeners (bots excluded) must vote for the skip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

DEFAULT_VOTE_RATIO = 0.5


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


class Basis(StrEnum):
    """Which step of the policy decided (what the dashboard's explainer names)."""

    OWNER = "owner"
    ADMINISTRATOR = "administrator"
    DJ_ROLE = "dj_role"
    VOICE = "voice"  # refused: not in (the bot's) voice channel
    MEMBER_RULE = "member_rule"
    ROLE_RULE = "role_rule"
    EVERYONE_RULE = "everyone_rule"
    ALONE = "alone"
    DEFAULT = "default"


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
    is_owner: bool = False


@dataclass(frozen=True, slots=True)
class VoiceScene:
    """The bot's voice channel (None when not connected) and the humans listening in it."""

    bot_channel_id: int | None = None
    listener_ids: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer: allowed or not, why (safe to show), whether a refused skip may be voted, and which
    step decided (`basis`; `role_id` is the role whose rule decided, for ROLE_RULE and EVERYONE_RULE)."""

    allowed: bool
    reason: str
    may_vote: bool = False
    basis: Basis = Basis.DEFAULT
    role_id: int | None = None


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """The rule that answers for a capability: its verdict, its kind and (for roles) which role."""

    verdict: bool
    basis: Basis  # MEMBER_RULE, ROLE_RULE or EVERYONE_RULE
    role_id: int | None = None


def privilege(actor: Actor, policy: GuildPolicy) -> Basis | None:
    """OWNER, ADMINISTRATOR or DJ_ROLE for members who may do everything; None for everyone else."""
    if actor.is_owner:
        return Basis.OWNER
    if actor.is_admin:
        return Basis.ADMINISTRATOR
    if policy.dj_role_id is not None and policy.dj_role_id in actor.role_ids:
        return Basis.DJ_ROLE
    return None


def is_privileged(actor: Actor, policy: GuildPolicy) -> bool:
    """True for the owner, administrators and holders of the guild's DJ role."""
    return privilege(actor, policy) is not None


def is_listening(actor: Actor, scene: VoiceScene) -> bool:
    """True when the member is in the bot's voice channel."""
    return scene.bot_channel_id is not None and actor.voice_channel_id == scene.bot_channel_id


def rule_match(actor: Actor, policy: GuildPolicy, capability: Capability) -> RuleMatch | None:
    """The rule that answers for `capability` for this member: user rule, then roles (allow wins), then
    @everyone; None when no rule says anything."""
    for rule in policy.rules:
        if rule.user_id == actor.user_id:
            verdict = rule.verdict(capability)
            if verdict is not None:
                return RuleMatch(verdict, Basis.MEMBER_RULE)
    role_verdicts: dict[bool, int] = {}
    for rule in policy.rules:
        if rule.role_id is None or rule.role_id not in actor.role_ids:
            continue
        if rule.role_id == policy.everyone_role_id:
            continue
        verdict = rule.verdict(capability)
        if verdict is not None:
            role_verdicts.setdefault(verdict, rule.role_id)
    for verdict in (True, False):
        if verdict in role_verdicts:
            return RuleMatch(verdict, Basis.ROLE_RULE, role_verdicts[verdict])
    for rule in policy.rules:
        if rule.role_id is not None and rule.role_id == policy.everyone_role_id:
            everyone = rule.verdict(capability)
            if everyone is not None:
                return RuleMatch(everyone, Basis.EVERYONE_RULE, rule.role_id)
    return None


def rule_verdict(actor: Actor, policy: GuildPolicy, capability: Capability) -> bool | None:
    """What the guild's rules say about `capability` for this member (None: nothing)."""
    match = rule_match(actor, policy, capability)
    return None if match is None else match.verdict


def explain(action: Action, actor: Actor, scene: VoiceScene, policy: GuildPolicy) -> Decision:
    """May `actor` do `action` right now, and which step of the policy decided?"""
    privileged = privilege(actor, policy)
    if privileged is not None:
        return Decision(True, _PRIVILEGED[privileged], basis=privileged)
    if action.needs_voice:
        refusal = _voice_refusal(action, actor, scene)
        if refusal is not None:
            return refusal
    capability = action.capability
    match = rule_match(actor, policy, capability) if capability is not None else None
    if match is not None:
        return _from_rule(action, match)
    if action is not Action.SETTINGS and is_alone_with_bot(actor, scene):
        return Decision(True, "alone with the bot", basis=Basis.ALONE)
    if action in _DEFAULT_ALLOWED:
        return Decision(True, "listener", basis=Basis.DEFAULT)
    return Decision(False, _REFUSALS[action], basis=Basis.DEFAULT)


def decide(action: Action, actor: Actor, scene: VoiceScene, policy: GuildPolicy) -> Decision:
    """May `actor` do `action` right now? (The same answer as `explain`.)"""
    return explain(action, actor, scene, policy)


def explain_all(actor: Actor, scene: VoiceScene, policy: GuildPolicy) -> dict[Action, Decision]:
    """The answer for every action, in the order Action lists them (the dashboard's explainer)."""
    return {action: explain(action, actor, scene, policy) for action in Action}


def is_alone_with_bot(actor: Actor, scene: VoiceScene) -> bool:
    """True when the member is the only human in the bot's voice channel."""
    return is_listening(actor, scene) and scene.listener_ids <= {actor.user_id}


def votes_needed(listener_count: int, ratio: float = DEFAULT_VOTE_RATIO) -> int:
    """Votes a skip needs: more than `ratio` of the listeners (half by default; bots are not listeners),
    never more than all of them."""
    if not 0 < ratio <= 1:
        raise ValueError("the vote-skip ratio is a fraction above 0 and at most 1")
    # Whole thousandths, so 0.5 × 4 is exactly 2 and not 2.0000000001.
    above = listener_count * round(ratio * 1000) // 1000
    return max(1, min(listener_count, above + 1))


def vote_passes(
    voter_ids: Iterable[int], listener_ids: frozenset[int], ratio: float = DEFAULT_VOTE_RATIO
) -> bool:
    """True when the votes of members still listening are more than `ratio` of the listeners."""
    if not listener_ids:
        return False
    counted = set(voter_ids) & listener_ids
    return len(counted) >= votes_needed(len(listener_ids), ratio)


def _voice_refusal(action: Action, actor: Actor, scene: VoiceScene) -> Decision | None:
    if actor.voice_channel_id is None:
        return Decision(False, "Join a voice channel first.", basis=Basis.VOICE)
    if scene.bot_channel_id is None:
        # Nothing is playing anywhere: whoever is in voice may bring the bot to them.
        return None
    if actor.voice_channel_id == scene.bot_channel_id:
        return None
    if action is Action.JOIN and not scene.listener_ids:
        return None  # the bot sits in an empty channel: moving it bothers nobody
    return Decision(False, "Join my voice channel first.", basis=Basis.VOICE)


def _from_rule(action: Action, match: RuleMatch) -> Decision:
    if match.verdict:
        return Decision(True, "allowed by this server's rules", basis=match.basis, role_id=match.role_id)
    return Decision(
        False,
        _RULE_REFUSALS[action],
        may_vote=action is Action.SKIP,
        basis=match.basis,
        role_id=match.role_id,
    )


_PRIVILEGED = {
    Basis.OWNER: "the server's owner",
    Basis.ADMINISTRATOR: "administrator",
    Basis.DJ_ROLE: "DJ",
}


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
