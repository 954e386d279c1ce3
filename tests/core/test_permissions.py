"""The permission policy: every action against every kind of member, rules, precedence and vote skip."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zilean.core.permissions import (
    Action,
    Actor,
    Basis,
    Capability,
    GuildPolicy,
    PermissionRule,
    VoiceScene,
    decide,
    explain,
    is_alone_with_bot,
    rule_verdict,
    vote_passes,
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

POLICY = GuildPolicy(dj_role_id=DJ, everyone_role_id=GUILD)
SCENE_SHARED = VoiceScene(BOT_CHANNEL, frozenset({ME, FRIEND}))
SCENE_ALONE = VoiceScene(BOT_CHANNEL, frozenset({ME}))
SCENE_DISCONNECTED = VoiceScene(None, frozenset())


def member(voice: int | None = BOT_CHANNEL, *roles: int, admin: bool = False, user: int = ME) -> Actor:
    return Actor(user_id=user, role_ids=frozenset({GUILD, *roles}), is_admin=admin, voice_channel_id=voice)


# --- the default matrix: (kind of member) x (action) -> allowed? --------------------------------

DEFAULT_MATRIX: dict[str, tuple[Actor, VoiceScene, set[Action]]] = {
    "listener beside others": (
        member(),
        SCENE_SHARED,
        {Action.PLAY, Action.JOIN, Action.CONTROL, Action.SKIP},
    ),
    "alone with the bot": (
        member(),
        SCENE_ALONE,
        {Action.PLAY, Action.JOIN, Action.CONTROL, Action.SKIP, Action.CLEAR},
    ),
    "in another channel": (member(OTHER_CHANNEL), SCENE_SHARED, set()),
    "not in voice": (member(None), SCENE_SHARED, set()),
    "in voice, bot disconnected": (
        member(OTHER_CHANNEL),
        SCENE_DISCONNECTED,
        {Action.PLAY, Action.JOIN, Action.CONTROL, Action.SKIP},
    ),
    "not in voice, bot disconnected": (member(None), SCENE_DISCONNECTED, set()),
    "DJ outside voice": (member(None, DJ), SCENE_SHARED, set(Action)),
    "DJ listening": (member(BOT_CHANNEL, DJ), SCENE_SHARED, set(Action)),
    "administrator outside voice": (member(None, admin=True), SCENE_SHARED, set(Action)),
}


@pytest.mark.parametrize(
    ("kind", "action"), list(itertools.product(DEFAULT_MATRIX, Action)), ids=lambda value: str(value)
)
def test_default_matrix(kind: str, action: Action) -> None:
    actor, scene, allowed = DEFAULT_MATRIX[kind]
    decision = decide(action, actor, scene, POLICY)
    assert decision.allowed is (action in allowed), decision.reason
    assert decision.reason  # always something to show


def test_refusals_say_what_to_do() -> None:
    assert decide(Action.PLAY, member(None), SCENE_SHARED, POLICY).reason == "Join a voice channel first."
    assert (
        decide(Action.CONTROL, member(OTHER_CHANNEL), SCENE_SHARED, POLICY).reason
        == "Join my voice channel first."
    )
    clear = decide(Action.CLEAR, member(), SCENE_SHARED, POLICY)
    assert "DJ" in clear.reason and not clear.may_vote
    settings = decide(Action.SETTINGS, member(), SCENE_ALONE, POLICY)
    assert not settings.allowed and "settings" in settings.reason


def test_settings_do_not_need_voice_but_do_need_rights() -> None:
    assert not decide(Action.SETTINGS, member(None), SCENE_DISCONNECTED, POLICY).allowed
    allow = GuildPolicy(rules=(PermissionRule(user_id=ME, settings=True),))
    assert decide(Action.SETTINGS, member(None), SCENE_DISCONNECTED, allow).allowed


def test_join_moves_the_bot_out_of_an_empty_channel_only() -> None:
    empty = VoiceScene(BOT_CHANNEL, frozenset())
    assert decide(Action.JOIN, member(OTHER_CHANNEL), empty, POLICY).allowed
    assert not decide(Action.JOIN, member(OTHER_CHANNEL), SCENE_SHARED, POLICY).allowed
    assert not decide(Action.PLAY, member(OTHER_CHANNEL), empty, POLICY).allowed


def test_no_dj_role_configured_means_roles_grant_nothing() -> None:
    policy = GuildPolicy(dj_role_id=None)
    assert not decide(Action.CLEAR, member(BOT_CHANNEL, DJ), SCENE_SHARED, policy).allowed


# --- per-guild rules ------------------------------------------------------------------------------

RULE_ACTIONS = [Action.PLAY, Action.SKIP, Action.CLEAR, Action.SETTINGS]


@pytest.mark.parametrize("action", RULE_ACTIONS)
def test_user_deny_beats_default_and_being_alone(action: Action) -> None:
    cap = action.capability
    assert cap is not None
    policy = GuildPolicy(dj_role_id=DJ, rules=(PermissionRule(user_id=ME, **{cap.value: False}),))
    for scene in (SCENE_SHARED, SCENE_ALONE):
        decision = decide(action, member(), scene, policy)
        assert not decision.allowed
        assert decision.may_vote is (action is Action.SKIP)
        assert "rules" in decision.reason


@pytest.mark.parametrize("action", RULE_ACTIONS)
def test_user_allow_beats_default(action: Action) -> None:
    cap = action.capability
    assert cap is not None
    policy = GuildPolicy(rules=(PermissionRule(user_id=ME, **{cap.value: True}),))
    assert decide(action, member(), SCENE_SHARED, policy).allowed


@pytest.mark.parametrize("action", RULE_ACTIONS)
def test_rules_never_bind_dj_or_admin(action: Action) -> None:
    cap = action.capability
    assert cap is not None
    deny = {cap.value: False}
    policy = GuildPolicy(
        dj_role_id=DJ,
        everyone_role_id=GUILD,
        rules=(PermissionRule(user_id=ME, **deny), PermissionRule(role_id=GUILD, **deny)),
    )
    assert decide(action, member(BOT_CHANNEL, DJ), SCENE_SHARED, policy).allowed
    assert decide(action, member(None, admin=True), SCENE_SHARED, policy).allowed


def test_rules_do_not_lift_the_voice_requirement() -> None:
    policy = GuildPolicy(rules=(PermissionRule(user_id=ME, play=True, clear=True),))
    assert not decide(Action.PLAY, member(OTHER_CHANNEL), SCENE_SHARED, policy).allowed
    assert not decide(Action.CLEAR, member(None), SCENE_SHARED, policy).allowed


def test_role_allow_beats_role_deny_and_user_rule_beats_both() -> None:
    rules = (PermissionRule(role_id=ROLE_A, clear=True), PermissionRule(role_id=ROLE_B, clear=False))
    policy = GuildPolicy(rules=rules)
    assert decide(Action.CLEAR, member(BOT_CHANNEL, ROLE_A, ROLE_B), SCENE_SHARED, policy).allowed
    assert not decide(Action.CLEAR, member(BOT_CHANNEL, ROLE_B), SCENE_SHARED, policy).allowed
    with_user = GuildPolicy(rules=(*rules, PermissionRule(user_id=ME, clear=False)))
    assert not decide(Action.CLEAR, member(BOT_CHANNEL, ROLE_A), SCENE_SHARED, with_user).allowed


def test_everyone_rule_is_the_weakest_role_rule() -> None:
    policy = GuildPolicy(
        everyone_role_id=GUILD,
        rules=(PermissionRule(role_id=GUILD, play=False), PermissionRule(role_id=ROLE_A, play=True)),
    )
    assert not decide(Action.PLAY, member(), SCENE_SHARED, policy).allowed
    assert decide(Action.PLAY, member(BOT_CHANNEL, ROLE_A), SCENE_SHARED, policy).allowed
    # An @everyone deny still outranks being alone: the server said nobody adds tracks.
    assert not decide(Action.PLAY, member(), SCENE_ALONE, policy).allowed


def test_a_role_deny_beats_an_everyone_allow() -> None:
    """@everyone is not one role among the others: a deny on a real role outranks an allow on it
    (counted like any role rule, the allow would win as "an allow on any role beats a deny")."""
    policy = GuildPolicy(
        everyone_role_id=GUILD,
        rules=(PermissionRule(role_id=GUILD, clear=True), PermissionRule(role_id=ROLE_B, clear=False)),
    )
    refused = explain(Action.CLEAR, member(BOT_CHANNEL, ROLE_B), SCENE_SHARED, policy)
    assert (refused.allowed, refused.basis, refused.role_id) == (False, Basis.ROLE_RULE, ROLE_B)
    allowed = explain(Action.CLEAR, member(BOT_CHANNEL, ROLE_A), SCENE_SHARED, policy)
    assert (allowed.allowed, allowed.basis, allowed.role_id) == (True, Basis.EVERYONE_RULE, GUILD)


def test_rules_for_other_people_and_roles_do_not_apply() -> None:
    policy = GuildPolicy(
        rules=(PermissionRule(user_id=FRIEND, play=False), PermissionRule(role_id=ROLE_A, play=False))
    )
    assert decide(Action.PLAY, member(), SCENE_SHARED, policy).allowed


def test_an_undecided_user_rule_falls_through_to_roles() -> None:
    policy = GuildPolicy(
        rules=(PermissionRule(user_id=ME, play=True), PermissionRule(role_id=ROLE_A, skip=False))
    )
    assert rule_verdict(member(BOT_CHANNEL, ROLE_A), policy, Capability.SKIP) is False
    assert rule_verdict(member(BOT_CHANNEL, ROLE_A), policy, Capability.PLAY) is True
    assert rule_verdict(member(BOT_CHANNEL, ROLE_A), policy, Capability.CLEAR) is None


def test_control_has_no_rule_capability() -> None:
    assert Action.CONTROL.capability is None
    assert Action.JOIN.capability is None
    policy = GuildPolicy(
        rules=(PermissionRule(user_id=ME, play=False, skip=False, clear=False, settings=False),)
    )
    assert decide(Action.CONTROL, member(), SCENE_SHARED, policy).allowed


def test_a_rule_names_exactly_one_role_or_user() -> None:
    with pytest.raises(ValueError):
        PermissionRule()
    with pytest.raises(ValueError):
        PermissionRule(role_id=1, user_id=2)


# --- vote skip --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("listeners", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (10, 6)])
def test_votes_needed_is_more_than_half(listeners: int, needed: int) -> None:
    assert votes_needed(listeners) == needed


def test_only_current_listeners_votes_count() -> None:
    listeners = frozenset({1, 2, 3, 4})
    assert not vote_passes({1, 2}, listeners)
    assert vote_passes({1, 2, 3}, listeners)
    assert not vote_passes({1, 2, 99, 98}, listeners)  # 98, 99 left the channel (or are bots)
    assert not vote_passes({1}, frozenset())


@given(st.sets(st.integers(0, 30)), st.sets(st.integers(0, 30), min_size=1))
def test_vote_passes_iff_strict_majority(voters: set[int], listeners: set[int]) -> None:
    counted = len(voters & listeners)
    assert vote_passes(voters, frozenset(listeners)) is (2 * counted > len(listeners))


def test_alone_means_the_only_human_in_the_bots_channel() -> None:
    assert is_alone_with_bot(member(), SCENE_ALONE)
    assert is_alone_with_bot(member(), VoiceScene(BOT_CHANNEL, frozenset()))
    assert not is_alone_with_bot(member(), SCENE_SHARED)
    assert not is_alone_with_bot(member(OTHER_CHANNEL), SCENE_ALONE)
    assert not is_alone_with_bot(member(), SCENE_DISCONNECTED)
