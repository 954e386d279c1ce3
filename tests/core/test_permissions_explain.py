"""explain(): which step of the policy decided, for every branch; decide() gives the same answer."""

from __future__ import annotations

import itertools

import pytest

from zilean.core.permissions import (
    Action,
    Actor,
    Basis,
    Decision,
    GuildPolicy,
    PermissionRule,
    VoiceScene,
    decide,
    explain,
    explain_all,
    rule_match,
    votes_needed,
)

GUILD = 1000  # also the @everyone role id
DJ = 7
ROLE_A = 21
ROLE_B = 22
BOT_CHANNEL = 500
OTHER_CHANNEL = 501
ME = 42
FRIEND = 43

SHARED = VoiceScene(BOT_CHANNEL, frozenset({ME, FRIEND}))
ALONE = VoiceScene(BOT_CHANNEL, frozenset({ME}))
DISCONNECTED = VoiceScene()


def member(voice: int | None = BOT_CHANNEL, *roles: int, admin: bool = False, owner: bool = False) -> Actor:
    return Actor(ME, frozenset({GUILD, *roles}), is_admin=admin, voice_channel_id=voice, is_owner=owner)


def policy(*rules: PermissionRule, dj: int | None = DJ) -> GuildPolicy:
    return GuildPolicy(dj_role_id=dj, rules=rules, everyone_role_id=GUILD)


def test_the_owner_is_named_first_even_when_also_admin_and_dj() -> None:
    deny_all = PermissionRule(user_id=ME, play=False, skip=False, clear=False, settings=False)
    for action in Action:
        decision = explain(action, member(None, DJ, admin=True, owner=True), SHARED, policy(deny_all))
        assert decision.allowed and decision.basis is Basis.OWNER


def test_an_administrator_outranks_the_dj_role_and_every_rule() -> None:
    deny = PermissionRule(role_id=GUILD, play=False, clear=False)
    decision = explain(Action.CLEAR, member(None, DJ, admin=True), SHARED, policy(deny))
    assert decision.allowed and decision.basis is Basis.ADMINISTRATOR


def test_the_dj_role_allows_everything_from_anywhere() -> None:
    decision = explain(Action.SETTINGS, member(None, DJ), DISCONNECTED, policy())
    assert decision.allowed and decision.basis is Basis.DJ_ROLE and decision.reason == "DJ"


def test_a_dj_role_of_none_grants_nothing() -> None:
    decision = explain(Action.CLEAR, member(BOT_CHANNEL, DJ), SHARED, policy(dj=None))
    assert not decision.allowed and decision.basis is Basis.DEFAULT


@pytest.mark.parametrize(
    ("actor", "scene", "reason"),
    [
        (member(None), SHARED, "Join a voice channel first."),
        (member(OTHER_CHANNEL), SHARED, "Join my voice channel first."),
    ],
)
def test_voice_refusals_name_the_voice_step(actor: Actor, scene: VoiceScene, reason: str) -> None:
    allow = PermissionRule(user_id=ME, play=True)
    decision = explain(Action.PLAY, actor, scene, policy(allow))
    assert not decision.allowed and decision.basis is Basis.VOICE and decision.reason == reason


def test_a_member_rule_decides_and_beats_role_rules() -> None:
    rules = (PermissionRule(user_id=ME, skip=False), PermissionRule(role_id=ROLE_A, skip=True))
    decision = explain(Action.SKIP, member(BOT_CHANNEL, ROLE_A), SHARED, policy(*rules))
    assert not decision.allowed and decision.may_vote
    assert decision.basis is Basis.MEMBER_RULE and decision.role_id is None
    allowed = explain(Action.CLEAR, member(), SHARED, policy(PermissionRule(user_id=ME, clear=True)))
    assert allowed.allowed and allowed.basis is Basis.MEMBER_RULE


def test_a_role_rule_names_the_role_that_decided() -> None:
    rules = (PermissionRule(role_id=ROLE_B, clear=False), PermissionRule(role_id=ROLE_A, clear=True))
    allowed = explain(Action.CLEAR, member(BOT_CHANNEL, ROLE_A, ROLE_B), SHARED, policy(*rules))
    assert allowed.allowed and allowed.basis is Basis.ROLE_RULE and allowed.role_id == ROLE_A
    denied = explain(Action.CLEAR, member(BOT_CHANNEL, ROLE_B), SHARED, policy(*rules))
    assert not denied.allowed and denied.basis is Basis.ROLE_RULE and denied.role_id == ROLE_B


def test_a_role_rule_that_says_nothing_falls_through_to_everyone() -> None:
    rules = (PermissionRule(role_id=ROLE_A, play=True), PermissionRule(role_id=GUILD, skip=False))
    decision = explain(Action.SKIP, member(BOT_CHANNEL, ROLE_A), SHARED, policy(*rules))
    assert not decision.allowed and decision.basis is Basis.EVERYONE_RULE and decision.role_id == GUILD
    assert "rules" in decision.reason and decision.may_vote


def test_an_everyone_deny_outranks_being_alone() -> None:
    decision = explain(Action.PLAY, member(), ALONE, policy(PermissionRule(role_id=GUILD, play=False)))
    assert not decision.allowed and decision.basis is Basis.EVERYONE_RULE


def test_an_everyone_rule_with_nothing_set_for_the_action_is_no_answer() -> None:
    rules = (PermissionRule(role_id=GUILD, play=False),)
    assert rule_match(member(), policy(*rules), Action.CLEAR.capability) is None  # type: ignore[arg-type]
    decision = explain(Action.CLEAR, member(), ALONE, policy(*rules))
    assert decision.allowed and decision.basis is Basis.ALONE


def test_alone_with_the_bot_allows_clearing_but_never_settings() -> None:
    assert explain(Action.CLEAR, member(), ALONE, policy()).basis is Basis.ALONE
    settings = explain(Action.SETTINGS, member(), ALONE, policy())
    assert not settings.allowed and settings.basis is Basis.DEFAULT


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (Action.PLAY, True),
        (Action.JOIN, True),
        (Action.CONTROL, True),
        (Action.SKIP, True),
        (Action.CLEAR, False),
        (Action.SETTINGS, False),
    ],
)
def test_the_default_for_a_listener_among_others(action: Action, allowed: bool) -> None:
    decision = explain(action, member(), SHARED, policy())
    assert decision.allowed is allowed and decision.basis is Basis.DEFAULT


def test_control_and_join_have_no_rule_so_rules_never_name_them() -> None:
    deny_all = PermissionRule(user_id=ME, play=False, skip=False, clear=False, settings=False)
    for action in (Action.CONTROL, Action.JOIN):
        assert explain(action, member(), SHARED, policy(deny_all)).basis is Basis.DEFAULT


ACTORS = [
    member(),
    member(None),
    member(OTHER_CHANNEL),
    member(BOT_CHANNEL, ROLE_A),
    member(BOT_CHANNEL, DJ),
    member(None, admin=True),
    member(None, owner=True),
]
RULE_SETS = [
    (),
    (PermissionRule(role_id=GUILD, skip=False, play=False),),
    (PermissionRule(role_id=ROLE_A, clear=True), PermissionRule(user_id=ME, settings=True)),
]


@pytest.mark.parametrize(
    ("actor", "scene", "rules"), list(itertools.product(ACTORS, [SHARED, ALONE, DISCONNECTED], RULE_SETS))
)
def test_decide_and_explain_all_give_the_same_answer(
    actor: Actor, scene: VoiceScene, rules: tuple[PermissionRule, ...]
) -> None:
    table = explain_all(actor, scene, policy(*rules))
    assert list(table) == list(Action)
    for action, decision in table.items():
        assert isinstance(decision, Decision)
        assert decide(action, actor, scene, policy(*rules)) == decision
        assert decision.reason


@pytest.mark.parametrize(
    ("listeners", "ratio", "needed"),
    [(4, 0.5, 3), (3, 0.5, 2), (4, 0.25, 2), (4, 0.75, 4), (4, 1.0, 4), (1, 0.1, 1), (10, 0.3, 4)],
)
def test_votes_needed_follow_the_ratio(listeners: int, ratio: float, needed: int) -> None:
    assert votes_needed(listeners, ratio) == needed


@pytest.mark.parametrize("ratio", [0.0, -0.5, 1.5])
def test_a_ratio_outside_0_to_1_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError):
        votes_needed(3, ratio)
