"""What commands accept, through the sandbox and the real bot: slash commands are guild-only, and any
argument, however odd, gets a clear reply: never the generic "something went wrong", a traceback, or
silence. Property tests (hypothesis) over each command's arguments, a few examples each."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_asyncio
from bot_harness import Driver, Reply
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zilean.bot.errors import GENERIC
from zilean.sandbox.server import Sandbox

pytestmark = pytest.mark.asyncio(loop_scope="module")

# Few examples per command: each is a round trip through the sandbox and the bot.
FEW = settings(
    max_examples=15,
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text people (or scripts) could send: control characters, markdown, mentions, emoji, long numbers.
ODD_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs"])
QUOTES = st.sampled_from(['"', "«", "0»", "“x", 'a "b', "„x“"])  # discord.py's argument quotes
ODD_TEXT = st.text(ODD_CHARS, min_size=1, max_size=40) | QUOTES
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["0", "-0", "+1", "1e9", "0x10", "١٢", "NaN", "inf", "9" * 400, "1.5", "--1"]),
)
TIMES = st.one_of(
    NUMBERS,
    st.from_regex(r"[+-]?\d{1,25}(:\d{1,25}){0,3}", fullmatch=True),
    st.sampled_from(["::", "1:", ":1", "1::1", "+", "-", "1:-1", "99999999999999999999:99", "1 30"]),
)
ARGUMENT = st.one_of(ODD_TEXT, NUMBERS, TIMES)
LONG = st.integers(3_000, 4_000).flatmap(lambda n: st.text(ODD_CHARS, min_size=n, max_size=n))
QUERIES = st.one_of(
    ODD_TEXT,
    st.sampled_from(["local:../../../etc/passwd", "local:", "local:\x00", "http://", "https://[::1"]),
    st.sampled_from(["\u202e", "[Free Nitro](https://phish.example)", "@everyone", "`` ` ``"]),
    st.text(st.characters(categories=["Cc", "Cf", "Zs"]), min_size=1, max_size=20).map(lambda t: f"a{t}b"),
)
FAILURES = ("Traceback", "internal error", GENERIC)
PHISH = "[Free Nitro](https://phish.example)"
# What a reply must not repeat: control characters (but newlines) and bidirectional overrides.
UNSHOWN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class ErrorLog(logging.Handler):
    """Collects every ERROR (or worse) the bot logs while a test runs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def assert_none(self, sent: str) -> None:
        messages = [f"{r.name}: {r.getMessage()}" for r in self.records]
        assert not messages, (sent, messages)


@pytest.fixture
def errors() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def clear(reply: Reply, sent: str, errors: ErrorLog) -> None:
    """A reply that says something, not that the bot failed, and nothing logged as an error."""
    assert reply.text.strip(), f"an empty reply to {sent!r}"
    for failure in FAILURES:
        assert failure.lower() not in reply.text.lower(), (sent, reply.text)
    assert PHISH not in reply.text, ("a live link from the input", sent, reply.text)
    assert not UNSHOWN.search(reply.text), ("control characters repeated", sent, reply.text)
    errors.assert_none(sent)


def visible(text: str) -> bool:
    """Text Discord would deliver as a message after the command word (not only blanks)."""
    return bool(text.strip())


async def say(driver: Driver, errors: ErrorLog, command: str, argument: str) -> None:
    content = f"{command} {argument}"[:2000]
    clear(await driver.say("alice", content, within=20), content, errors)


async def slash(driver: Driver, errors: ErrorLog, command: str, **options: Any) -> None:
    sent = f"/{command} {options}"[:200]
    clear(await driver.slash("alice", command, within=20, **options), sent, errors)


@pytest_asyncio.fixture(loop_scope="module")
async def queued(playing_tone: Driver) -> Driver:
    """The tone playing and three chimes queued: positions 1-3 exist."""
    for number in (1, 2, 3):
        reply = await playing_tone.say("alice", f"=play local:chime{number}.flac")
        assert "Added to the queue" in reply.text, reply.text
    return playing_tone


# --- registration ----------------------------------------------------------------------------------


async def test_slash_commands_are_registered_for_guilds_only(sandbox: Sandbox, running_bot: object) -> None:
    registered = list(sandbox.commands.by_scope.get(None, {}).values())
    assert len(registered) > 20, registered
    for command in registered:
        assert command["contexts"] == [0], command  # 0: GUILD; no 1 (bot DM) or 2 (private channel)
        assert command["dm_permission"] is False, command
        assert command["integration_types"] == [0], command  # a guild install, not a user app


# --- garbage in ------------------------------------------------------------------------------------


@FEW
@given(argument=TIMES | ODD_TEXT)
async def test_seek_answers_anything_clearly(playing_tone: Driver, errors: ErrorLog, argument: str) -> None:
    if visible(argument):
        await say(playing_tone, errors, "=seek", argument)


@FEW
@given(argument=ARGUMENT)
async def test_volume_answers_anything_clearly(fresh_guild: Driver, errors: ErrorLog, argument: str) -> None:
    await say(fresh_guild, errors, "=volume", argument)


async def test_a_volume_that_is_not_a_number_is_refused_not_ignored(fresh_guild: Driver) -> None:
    reply = await fresh_guild.say("alice", "=volume loud")
    assert "whole number from 0 to 200" in reply.text, reply.text


async def test_an_effect_name_is_repeated_without_markdown(fresh_guild: Driver) -> None:
    reply = await fresh_guild.say("alice", f"=effect add {PHISH}")
    assert "Unknown effect" in reply.text and PHISH not in reply.text, reply.text


@settings(FEW, max_examples=10)
@given(percent=st.integers(-(2**53), 2**53))
async def test_slash_volume_answers_any_integer_clearly(
    fresh_guild: Driver, errors: ErrorLog, percent: int
) -> None:
    await slash(fresh_guild, errors, "volume", percent=percent)


@FEW
@given(source=ARGUMENT, destination=ARGUMENT)
async def test_move_answers_anything_clearly(
    queued: Driver, errors: ErrorLog, source: str, destination: str
) -> None:
    await say(queued, errors, "=move", f"{source} {destination}")


@FEW
@given(argument=ARGUMENT)
async def test_remove_and_skip_answer_anything_clearly(
    queued: Driver, errors: ErrorLog, argument: str
) -> None:
    await say(queued, errors, "=remove", argument)
    await say(queued, errors, "=skip", argument)


@FEW
@given(name=ODD_TEXT | st.sampled_from(["nightcore", "NIGHTCORE", "bassboost ", "8d", "eq", "all"]))
async def test_effect_names_are_answered_clearly(fresh_guild: Driver, errors: ErrorLog, name: str) -> None:
    if visible(name):
        await say(fresh_guild, errors, "=effect add", name)
        await say(fresh_guild, errors, "=effect remove", name)


@FEW
@given(query=QUERIES)
async def test_play_queries_with_control_characters_are_answered_clearly(
    bot_in_voice: Driver, errors: ErrorLog, query: str
) -> None:
    if visible(query):
        await say(bot_in_voice, errors, "=play", query)


@settings(FEW, max_examples=4)
@given(text=LONG)
async def test_four_thousand_characters_are_answered_clearly(
    bot_in_voice: Driver, errors: ErrorLog, text: str
) -> None:
    await slash(bot_in_voice, errors, "play", query=text)
    await slash(bot_in_voice, errors, "seek", time=text)
    await slash(bot_in_voice, errors, "effect add", name=text)
