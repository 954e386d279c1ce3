"""Every command through the sandbox, as prefix (`=`) and slash command, with the real bot."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from bot_harness import Driver, Reply, both_backends

from polling import until, until_value

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.usefixtures("fresh_guild")]

NO_MENTIONS = {"parse": []}


def quiet(reply: Reply) -> Reply:
    """Every answer must be sent with allowed_mentions parse=[] (nobody pinged)."""
    assert reply.allowed_mentions is not None and reply.allowed_mentions.get("parse") == [], reply
    return reply


async def test_help_lists_commands_by_prefix_and_slash(driver: Driver) -> None:
    reply = quiet(await driver.say("alice", "=help"))
    assert "play" in reply.text and "volume" in reply.text
    slash = await driver.slash("alice", "help")
    assert slash.ephemeral and "effect" in slash.text


async def test_playing_needs_a_voice_channel(driver: Driver) -> None:
    reply = quiet(await driver.say("bob", "=play local:tone440.flac"))
    assert "Join a voice channel first" in reply.text
    slash = await driver.slash("bob", "play", query="local:tone440.flac")
    assert slash.ephemeral and "Join a voice channel first" in slash.text


async def test_join_and_leave(driver: Driver) -> None:
    reply = quiet(await driver.slash("alice", "join"))
    assert "Joined" in reply.text and "Music" in reply.text
    await driver.wait_voice(lambda s: s["connected"] and s["channel_id"] == str(driver.voice_channel))
    reply = quiet(await driver.say("alice", "=leave"))
    assert "Left" in reply.text
    await driver.wait_voice(lambda s: s["channel_id"] is None)
    reply = await driver.say("alice", "=leave")
    assert "not in a voice channel" in reply.text


@both_backends
async def test_queue_commands(driver: Driver) -> None:
    first = quiet(await driver.say("alice", "=play local:tone440.flac"))
    assert "Playing now" in first.text and "0:30" in first.text and "<@" in first.text  # requester
    await driver.slash("alice", "play", query="local:steps.flac")
    nxt = await driver.slash("alice", "play", query="local:short660.flac", position="next")
    assert "Position 1" in nxt.text

    queue = quiet(await driver.slash("alice", "queue"))
    assert queue.text.index("Short 660") < queue.text.index("Steps") and "Page 1/1" in queue.text
    moved = quiet(await driver.say("alice", "=move 2 1"))
    assert "Steps" in moved.text
    queue = await driver.say("alice", "=queue")
    assert queue.text.index("Steps") < queue.text.index("Short 660")
    removed = quiet(await driver.slash("alice", "remove", position=1))
    assert "Steps" in removed.text
    bad = await driver.slash("alice", "remove", position=9)
    assert bad.ephemeral and "no track 9" in bad.text

    assert "Loop: 🔂 track." in (await driver.say("alice", "=loop one")).text
    assert "Loop: 🔁 queue." in (await driver.slash("alice", "loop", mode="queue")).text
    assert "Loop: off." in (await driver.say("alice", "=loop off")).text

    card = quiet(await driver.slash("alice", "nowplaying"))
    assert "Tone 440" in card.text and "/ 0:30" in card.text and "Volume" in card.text
    assert {"zilean:np:pause", "zilean:np:skip", "zilean:np:stop"} <= set(card.custom_ids())

    skipped = quiet(await driver.say("alice", "=skip"))
    assert "Short 660" in skipped.text
    back = quiet(await driver.slash("alice", "previous"))
    assert "Tone 440" in back.text
    assert "top" in (await driver.say("alice", "=replay")).text
    history = quiet(await driver.slash("alice", "history"))
    assert "Tone 440" in history.text

    cleared = quiet(await driver.say("alice", "=clear"))
    assert "Cleared 1" in cleared.text
    assert "The queue is empty." in (await driver.slash("alice", "shuffle")).text


CHIMES = [f"Chime {n}" for n in range(1, 6)]


async def upcoming_titles(driver: Driver) -> list[str]:
    """The chimes in the order `=queue` lists them (a chime playing now comes first)."""
    text = (await driver.say("alice", "=queue")).text
    return sorted((t for t in CHIMES if t in text), key=text.index)


async def stored_titles(driver: Driver, running_bot: Any) -> list[str]:
    """The queue as the database holds it (what the dashboard and a restart see)."""
    return [entry.track.title for entry in await running_bot.store.queued(driver.guild_id)]


async def stored_eventually(driver: Driver, running_bot: Any, expected: list[str]) -> None:
    """The database mirrors the queue a moment after each edit (the saver writes in the background)."""

    async def read() -> list[str]:
        return await stored_titles(driver, running_bot)

    await until_value(read, lambda titles: titles == expected, what=f"the stored queue becoming {expected}")


@both_backends
async def test_shuffle_reorders_the_queue_and_keeps_every_track(driver: Driver, running_bot: Any) -> None:
    await driver.say("alice", "=play local:tone440.flac")
    for number in range(1, 6):
        await driver.say("alice", f"=play local:chime{number}.flac")
    assert await upcoming_titles(driver) == CHIMES
    # One shuffle of 5 leaves the order as it was with chance 1/120: a no-op fails 4 tries in a row.
    orders = []
    for _ in range(4):
        shuffled = quiet(await driver.slash("alice", "shuffle"))
        assert "Shuffled 5 tracks" in shuffled.text, shuffled.text
        orders.append(await upcoming_titles(driver))
        assert sorted(orders[-1]) == CHIMES  # nothing lost, nothing doubled
        await stored_eventually(driver, running_bot, orders[-1])
        if orders[-1] != CHIMES:
            break
    assert orders[-1] != CHIMES, f"four shuffles left the queue as it was: {orders}"


async def test_volume_and_effects_by_both_kinds_of_command(playing_tone: Driver) -> None:
    driver = playing_tone
    assert "100%" in (await driver.say("alice", "=volume")).text
    assert "120%" in quiet(await driver.slash("alice", "volume", percent=120)).text
    too_loud = await driver.say("alice", "=volume 250")
    assert "0 to 200" in too_loud.text
    listing = quiet(await driver.slash("alice", "effect list"))
    assert "nightcore" in listing.text and "bassboost" in listing.text
    assert (
        "Added `bassboost`. Effects: bassboost." in (await driver.say("alice", "=effect add bassboost")).text
    )
    unknown = await driver.slash("alice", "effect add", name="kazoo")
    assert unknown.ephemeral and "kazoo" in unknown.text
    assert "Active: bassboost" in (await driver.say("alice", "=effect")).text
    removed = await driver.slash("alice", "effect remove", name="bassboost")
    assert "Removed `bassboost`. Effects: none." in removed.text, removed.text
    assert "Active: none" in (await driver.say("alice", "=effect")).text
    await driver.say("alice", "=volume 100")


async def test_pagination_buttons_turn_pages(driver: Driver) -> None:
    await driver.say("alice", "=play local:tone440.flac")  # 30 s: the short ones stay queued meanwhile
    for _ in range(11):
        await driver.say("alice", "=play local:short660.flac")
    page = await driver.say("alice", "=queue")
    assert "Page 1/2" in page.text
    next_id = [cid for cid in page.custom_ids() if cid][1]
    refused = await driver.press("bob", page.message_id or "", next_id)
    assert refused["responses"][0].get("ephemeral"), refused
    assert "Use `queue` yourself" in str(refused["responses"][0]), refused
    unchanged = next(m for m in await driver.messages() if m["id"] == page.message_id)
    assert "Page 1/2" in unchanged["embeds"][0]["footer"]["text"]
    summary = await driver.press("alice", page.message_id or "", next_id)
    assert summary["responses"], summary
    shown = await driver.messages()
    edited = next(m for m in shown if m["id"] == page.message_id)
    assert "Page 2/2" in edited["embeds"][0]["footer"]["text"]
    await driver.say("alice", "=stop")


async def test_a_failing_track_is_reported_and_the_queue_moves_on(
    driver: Driver, media: dict[str, Path], running_bot: Any
) -> None:
    doomed = media["doomed"].with_name(f"doomed-{uuid.uuid4().hex[:8]}.flac")  # this test's own copy
    shutil.copy(media["doomed"], doomed)

    # The library looks for new files every few seconds: wait until it knows this one.
    async def known() -> bool:
        hits = await running_bot.resolver.search(f"local:{doomed.name}", 1)
        return bool(hits) and hits[0].url == f"local:{doomed.name}"

    await until(known, what="the library seeing the copy")
    await driver.say("alice", "=play local:tone440.flac")
    assert "Added" in (await driver.say("alice", f"=play local:{doomed.name}")).text
    await driver.say("alice", "=play local:short660.flac")
    doomed.unlink()  # gone by the time its turn comes, like a link that went 404
    last = await driver.last_message_id()
    await driver.say("alice", "=skip")
    failure = await driver.bot_message_after(last, containing="Couldn't play")
    assert "Doomed" in failure.text and "no longer in the music folder" in failure.text
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - 660) < 5)
    await driver.say("alice", "=stop")


@both_backends
async def test_settings_need_rights_and_change_the_prefix(driver: Driver) -> None:
    refused = await driver.slash("bob", "settings prefix", prefix="!")
    assert refused.ephemeral and "DJ or an administrator" in refused.text
    changed = quiet(await driver.slash("owner", "settings prefix", prefix="!"))
    assert "`!`" in changed.text
    shown = await driver.say("owner", "!settings")
    assert "Prefix: `!`" in shown.text
    await driver.say("owner", "!settings prefix =")
    assert "Prefix: `=`" in (await driver.say("owner", "=settings")).text


@both_backends
async def test_permission_rules_and_vote_skip(driver: Driver) -> None:
    await driver.join_voice("bob")
    await driver.say("alice", "=play local:tone440.flac")
    clear = await driver.say("bob", "=clear")
    assert "Only a DJ" in clear.text
    for user in ("alice", "bob"):
        ok = await driver.say("owner", f"=permissions set <@{driver.users[user]}> skip deny")
        assert "deny" in ok.text
    assert "skip ⛔" in (await driver.slash("owner", "permissions show")).text
    vote = await driver.say("bob", "=skip")
    assert "1/2" in vote.text
    passed = await driver.slash("alice", "skip")
    assert "Vote passed" in passed.text
    not_yet = await driver.slash("dj", "clear")  # a role called DJ means nothing until it is configured
    assert not_yet.ephemeral and "Join a voice channel" in not_yet.text
    configured = await driver.say("owner", f"=settings djrole <@&{driver.dj_role}>")
    assert "DJ role set" in configured.text
    dj = await driver.slash("dj", "clear")  # the DJ may do anything, from anywhere
    assert "Cleared" in dj.text
    await driver.slash("owner", "settings djrole")
    for user in ("alice", "bob"):
        await driver.say("owner", f"=permissions reset <@{driver.users[user]}>")
    await driver.leave_voice("bob")
    await driver.say("alice", "=stop")


async def test_now_playing_buttons(driver: Driver) -> None:
    last = await driver.last_message_id()
    await driver.say("alice", "=play local:tone440.flac")
    card = await driver.bot_message_after(last, containing="Now playing")
    assert card.message_id is not None
    await driver.packets_flowing()
    await driver.press("alice", card.message_id, "zilean:np:pause")
    await driver.assert_audio_held(observe_s=0.6)
    edited = next(m for m in await driver.messages(last) if m["id"] == card.message_id)
    assert "Paused" in edited["embeds"][0]["title"]
    await driver.press("alice", card.message_id, "zilean:np:pause")
    await driver.packets_flowing()
    refused = await driver.press("bob", card.message_id, "zilean:np:stop")
    assert refused["responses"][0].get("ephemeral"), refused
    await driver.press("alice", card.message_id, "zilean:np:stop")
    await driver.wait_voice(lambda s: not s["speaking"] or s["silent"])


async def test_idle_timeout_and_247(driver: Driver) -> None:
    await driver.say("owner", "=settings idle 1")
    assert "24/7 mode is on" in (await driver.slash("owner", "247", enabled=True)).text
    start = (await driver.voice())["packets"]
    await driver.say("alice", "=play local:short660.flac")
    await driver.wait_voice(lambda s: s["packets"] >= start + 90 and not s["speaking"])  # the 2 s track ended
    await asyncio.sleep(2)  # observing: twice the idle time passes, and 24/7 keeps the bot
    assert (await driver.voice())["channel_id"] == str(driver.voice_channel)
    assert "off" in (await driver.say("owner", "=247")).text
    await driver.say("alice", "=play local:short660.flac")
    await driver.wait_voice(lambda s: s["channel_id"] is None, within=20)
    # Left alone: everyone leaves while a long track plays, and the bot goes too.
    await driver.say("alice", "=play local:tone440.flac")
    await driver.packets_flowing()
    await driver.leave_voice("alice")
    await driver.wait_voice(lambda s: s["channel_id"] is None, within=20)
    await driver.join_voice("alice")
    await driver.say("owner", "=settings idle 300")


async def test_the_now_playing_card_is_edited_for_the_next_track(driver: Driver) -> None:
    last = await driver.last_message_id()
    await driver.say("alice", "=play local:short660.flac")
    await driver.say("alice", "=play local:tone440.flac")
    card = await driver.bot_message_after(last, containing="Now playing")
    assert "Short 660" in card.text

    async def cards() -> list[dict[str, Any]]:
        found = await driver.messages(last)
        return [m for m in found if m["embeds"] and "Now playing" in (m["embeds"][0].get("title") or "")]

    await until_value(
        cards,
        lambda found: "Tone 440" in found[0]["embeds"][0]["description"],
        what="the card showing Tone 440",
    )
    assert [m["id"] for m in await cards()] == [card.message_id]  # one card, edited in place
    await driver.say("alice", "=stop")


async def test_a_gateway_reconnect_does_not_stop_the_music(playing_tone: Driver) -> None:
    driver = playing_tone
    state = (await driver.http.get("/_sandbox/state")).json()["gateway"]
    fault = await driver.http.post("/_sandbox/faults", json={"kind": "reconnect"})
    fault.raise_for_status()

    async def gateway() -> dict[str, Any]:
        return dict((await driver.http.get("/_sandbox/state")).json()["gateway"])

    await until_value(
        gateway,
        lambda g: (
            g["connected"] and (g["resumes"] > state["resumes"] or g["identifies"] > state["identifies"])
        ),
        what="the bot's gateway reconnect",
    )
    await driver.packets_flowing()
    assert "Tone 440" in (await driver.say("alice", "=nowplaying")).text
    await driver.say("alice", "=stop")


async def test_slash_play_defers_and_errors_are_ephemeral_after_the_defer(driver: Driver) -> None:
    reply = await driver.slash("alice", "play", query="local:no such song anywhere")
    assert reply.ephemeral and "Nothing found" in reply.text
    assert reply.response_type == 5  # deferred ("thinking") before resolving


async def test_titles_are_escaped_and_mentions_never_ping(driver: Driver) -> None:
    reply = quiet(await driver.say("alice", "=play local:markdown.flac"))
    description = reply.embeds[0]["description"]
    assert "\\*\\*Loud\\*\\*" in description and "\\_song\\_" in description
    assert "@everyone" not in description.replace("@\u200beveryone", "")
    await driver.say("alice", "=stop")


async def test_search_offers_a_menu_and_queues_the_pick(driver: Driver) -> None:
    menu = quiet(await driver.say("alice", "=search tone"))
    assert "Pick a track" in menu.text and "Tone 440" in menu.text
    select_id = menu.custom_ids()[0]
    others = await driver.press("bob", menu.message_id or "", select_id, values=["0"])
    assert others["responses"][0].get("ephemeral")
    summary = await driver.press("alice", menu.message_id or "", select_id, values=["0"])
    assert summary["responses"]
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - 440) < 5)
    await driver.say("alice", "=stop")


async def test_skip_to_a_place_and_the_dashboard_link(driver: Driver) -> None:
    await driver.say("alice", "=play local:tone440.flac")
    await driver.say("alice", "=play local:short660.flac")
    await driver.say("alice", "=play local:steps.flac")
    jumped = await driver.slash("alice", "skip", to=2)
    assert "Steps" in jumped.text
    link = await driver.slash("alice", "dashboard")
    assert link.ephemeral and f"/guilds/{driver.guild_id}" in link.text
    await driver.say("alice", "=stop")


@both_backends
async def test_dashboard_commands_over_the_bus_use_the_same_policy(
    playing_tone: Driver, running_bot: Any
) -> None:
    driver = playing_tone
    bus = running_bot.bus
    last_event = await bus.events.latest_id()
    paused = await bus.send(driver.guild_id, "pause", {}, user_id=driver.users["alice"], timeout_s=10)
    assert paused.status == "done" and "Paused" in (paused.outcome or "")
    await driver.assert_audio_held(observe_s=0.8)
    refused = await bus.send(driver.guild_id, "clear", {}, user_id=driver.users["bob"], timeout_s=10)
    assert refused.status == "refused" and "Join a voice channel" in (refused.outcome or "")
    volume = await bus.send(
        driver.guild_id, "volume", {"percent": 50}, user_id=driver.users["alice"], timeout_s=10
    )
    assert volume.status == "done"
    assert "50%" in (await driver.say("alice", "=volume")).text
    resumed = await bus.send(driver.guild_id, "resume", {}, user_id=driver.users["alice"], timeout_s=10)
    assert resumed.status == "done"
    await driver.packets_flowing()
    events = await bus.events.after(last_event, guild_id=driver.guild_id)
    players = [e for e in events if e.kind == "player"]
    assert any(e.payload.get("paused") for e in players) and players[-1].payload["volume"] == 50
    await bus.send(driver.guild_id, "stop", {}, user_id=driver.users["alice"], timeout_s=10)
    await driver.say("alice", "=volume 100")


async def card_footer(driver: Driver, message_id: str) -> str:
    """The footer of the now-playing card as it stands (loop mode, volume, effects)."""
    card = next(m for m in await driver.messages() if m["id"] == message_id)
    return str((card["embeds"][0].get("footer") or {}).get("text", ""))


async def test_now_playing_skip_loop_and_shuffle_buttons(driver: Driver, running_bot: Any) -> None:
    last = await driver.last_message_id()
    await driver.say("alice", "=play local:tone440.flac")
    card = await driver.bot_message_after(last, containing="Now playing")
    assert card.message_id is not None
    for number in range(1, 6):
        await driver.say("alice", f"=play local:chime{number}.flac")

    for label in ("🔁 queue", "🔂 track", "off"):  # the Loop button cycles off → queue → track → off
        pressed = await driver.press("alice", card.message_id, "zilean:np:loop")
        assert not pressed["responses"][0].get("ephemeral"), pressed
        assert f"Loop: {label}" in await card_footer(driver, card.message_id)
        assert f"Loop: {label}" in (await driver.say("alice", "=queue")).text

    orders = []
    for _ in range(4):  # a no-op shuffle fails four presses in a row (a real one: 1 in 120⁴)
        await driver.press("alice", card.message_id, "zilean:np:shuffle")
        orders.append(await upcoming_titles(driver))
        assert sorted(orders[-1]) == CHIMES
        await stored_eventually(driver, running_bot, orders[-1])
        if orders[-1] != CHIMES:
            break
    assert orders[-1] != CHIMES, f"the Shuffle button left the queue as it was: {orders}"

    refused = await driver.press("bob", card.message_id, "zilean:np:skip")  # bob is not listening
    assert refused["responses"][0].get("ephemeral"), refused
    assert (await upcoming_titles(driver)) == orders[-1]
    first_up = orders[-1][0]
    await driver.press("alice", card.message_id, "zilean:np:skip")
    now = await driver.say("alice", "=nowplaying")
    assert first_up in now.text, now.text
    await stored_eventually(driver, running_bot, orders[-1][1:])


@both_backends
async def test_a_playlist_link_queues_every_entry_in_order(driver: Driver, media_site: str) -> None:
    last = await driver.last_message_id()
    added = quiet(await driver.say("alice", f"=play {media_site}/feed.xml", within=60))
    assert "Added a playlist" in added.text and "**3** tracks from Chimes" in added.text, added.text
    card = await driver.bot_message_after(last, containing="Now playing")
    assert "Chime 1" in card.text
    queue = await driver.say("alice", "=queue")
    assert queue.text.index("Chime 2") < queue.text.index("Chime 3")
    await driver.wait_voice(lambda s: s["dominant_hz"] and abs(s["dominant_hz"] - 520) < 5, within=20)


async def test_a_slash_command_the_bot_no_longer_has_gets_an_ephemeral_apology(
    driver: Driver, running_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Discord still lists a command this bot version dropped: the tree's error handler answers."""
    command = running_bot.tree.get_command("history")
    assert command is not None
    running_bot.tree.remove_command("history")
    try:
        reply = await driver.slash("alice", "history")
    finally:
        running_bot.tree.add_command(command)
    assert reply.ephemeral and "Something went wrong on my side" in reply.text, reply
    assert any(r.levelname == "ERROR" and "slash command failed" in r.message for r in caplog.records)
    back = await driver.slash("alice", "history")  # the command is back and answers normally
    assert "Something went wrong" not in back.text, back


async def bot_sees_in_voice(driver: Driver, running_bot: Any, user: str) -> None:
    guild = running_bot.get_guild(driver.guild_id)

    def seen() -> bool:
        member = guild.get_member(driver.users[user]) if guild else None
        return bool(member and member.voice and member.voice.channel)

    await until(seen, what=f"the bot seeing {user} in voice")


async def test_fair_queue_lets_two_requesters_take_turns(driver: Driver, running_bot: Any) -> None:
    await driver.join_voice("bob")
    await bot_sees_in_voice(driver, running_bot, "bob")
    try:
        refused = await driver.say("bob", "=settings fairqueue on")
        assert "Fair queue is on" not in refused.text
        on = quiet(await driver.slash("owner", "settings fairqueue", state="on"))
        assert "Fair queue is on" in on.text, on.text
        assert "Fair queue: on" in (await driver.say("owner", "=settings")).text
        await driver.say("alice", "=play local:tone440.flac")  # alice's track plays (30 s)
        for number in (1, 2, 3):  # alice queues three
            await driver.say("alice", f"=play local:chime{number}.flac")
        bobs = quiet(await driver.say("bob", "=play local:chime4.flac"))  # bob's goes before them
        assert "Position 1" in bobs.text, bobs.text
        await driver.slash("bob", "play", query="local:chime5.flac")
        turns = ["Chime 4", "Chime 1", "Chime 5", "Chime 2", "Chime 3"]
        assert await upcoming_titles(driver) == turns  # what `/queue` shows
        await stored_eventually(driver, running_bot, turns)  # what the dashboard's queue reads
        off = quiet(await driver.say("owner", "=settings fairqueue off"))
        assert "Fair queue is off" in off.text
        await driver.say("bob", "=play local:short660.flac")
        text = (await driver.say("alice", "=queue")).text
        assert text.index("Chime 3") < text.index("Short 660")  # appended at the end again
    finally:
        await driver.say("alice", "=stop")
        await driver.leave_voice("bob")


async def test_fair_queue_needs_the_settings_right(driver: Driver) -> None:
    refused = await driver.slash("alice", "settings fairqueue", state="on")
    assert refused.ephemeral and "Fair queue is on" not in refused.text
    assert "Fair queue: off" in (await driver.say("owner", "=settings")).text


async def test_eq_commands(driver: Driver, running_bot: Any) -> None:
    shown = quiet(await driver.slash("alice", "eq show"))
    assert "Equalizer · flat" in shown.text and "25 Hz  +0.0 dB" in shown.text and "treble" in shown.text
    bad_band = await driver.slash("alice", "eq set", band="1234", gain="5")
    assert bad_band.ephemeral and "The bands are: 25, 40, 63, 100, 160, 250, 400" in bad_band.text
    bad_gain = await driver.say("alice", "=eq set 100 15")
    assert "-12 to +12 dB" in bad_gain.text
    assert "Equalizer: `bass`" in quiet(await driver.say("alice", "=eq preset bass")).text
    assert "Equalizer · bass" in (await driver.say("alice", "=eq")).text
    assert "1000 Hz set to +3.0 dB" in (await driver.say("alice", "=eq set 1k +3")).text
    stored = await running_bot.store.settings.get(driver.guild_id)
    assert dict(stored.eq) == {
        "25": 6.0,
        "40": 6.0,
        "63": 5.0,
        "100": 4.0,
        "160": 2.5,
        "250": 1.0,
        "1000": 3.0,
    }
    assert "Equalizer · custom" in (await driver.say("alice", "=eq show")).text
    refused = await driver.say("bob", "=eq set 100 3")  # not listening: may not change playback
    assert "set to" not in refused.text
    refused = await driver.say("alice", "=eq save mine")  # saving a server preset is a setting
    assert "Saved" not in refused.text
    saved = quiet(await driver.say("owner", "=eq save Mine"))
    assert "Saved this server's preset `mine`" in saved.text
    assert "built-in" in (await driver.say("owner", "=eq save bass")).text
    assert "flat" in (await driver.slash("alice", "eq reset")).text
    assert "Equalizer: `mine`" in (await driver.slash("alice", "eq preset", name="mine")).text
    listing = (await driver.say("alice", "=eq")).text
    assert "Equalizer · mine" in listing and "This server's: `mine`" in listing
    unknown = await driver.say("alice", "=eq preset jazz")
    assert "Presets: flat, bass, rock, pop, vocal, treble, mine." in unknown.text
    assert "Deleted" in (await driver.say("owner", "=eq delete mine")).text
    assert await running_bot.store.eq_presets.for_guild(driver.guild_id) == []
    assert "eq` — Show the equalizer" in (await driver.say("alice", "=help")).text
