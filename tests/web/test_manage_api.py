"""The server managers' API and pages without a bot (both backends): who may see them, what the
explainer says for each kind of member, validation next to the field, audit pages and CSV, stats."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI
from web_helpers import context_of, csrf, log_in

from zilean.core.track import Track
from zilean.db import Database
from zilean.db.records import ChannelInfo, GuildInfo, MemberInfo, RoleInfo

GUILD = 4_200_000_000_000_000_001
OWNER, MANAGER, DJ_USER, PLAIN, STRANGER = 11, 12, 13, 14, 15
DJ_ROLE, MANAGERS_ROLE = 501, 502
TEXT = 601
MANAGE_GUILD = 1 << 5


async def publish(db: Database) -> None:
    """The bot's view: an owner, a member whose role has Manage Server, a DJ, a plain member."""
    roles = [
        RoleInfo(GUILD, GUILD, "@everyone"),
        RoleInfo(GUILD, DJ_ROLE, "DJ", position=2),
        RoleInfo(GUILD, MANAGERS_ROLE, "Managers", position=3, permissions=MANAGE_GUILD),
    ]
    members = [
        MemberInfo(GUILD, OWNER, "owner", "The Owner", is_owner=True),
        MemberInfo(GUILD, MANAGER, "manager", "Manager", role_ids=(MANAGERS_ROLE,)),
        MemberInfo(GUILD, DJ_USER, "dj", "Deejay", role_ids=(DJ_ROLE,)),
        MemberInfo(GUILD, PLAIN, "plain", "Plain Member", voice_channel_id=None),
    ]
    channels = [ChannelInfo(GUILD, TEXT, "text", "general")]
    await db.directory.replace_guild(GuildInfo(GUILD, "Club", owner_id=OWNER), channels, roles, members)
    await db.guild_settings.update(GUILD, dj_role_id=DJ_ROLE)


def api(path: str = "") -> str:
    return f"/api/servers/{GUILD}{path}"


async def test_only_members_with_the_settings_permission_see_the_pages_and_api(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = context_of(app).db
    await publish(db)
    pages = ["permissions", "settings", "audit", "stats"]
    for user in (OWNER, MANAGER, DJ_USER):
        await log_in(app, client, user)
        for page in pages:
            assert (await client.get(f"/guilds/{GUILD}/{page}")).status_code == 200, (user, page)
        assert (await client.get(api("/settings"))).status_code == 200
        assert f'href="/guilds/{GUILD}/permissions"' in (await client.get(f"/guilds/{GUILD}")).text
    await log_in(app, client, PLAIN)
    for page in pages:
        assert (await client.get(f"/guilds/{GUILD}/{page}")).status_code == 404
    for path in ("/permissions", "/settings", "/audit", "/stats", f"/permissions/explain?user_id={PLAIN}"):
        response = await client.get(api(path))
        assert response.status_code == 403 and "settings" in response.json()["error"], path
    player = (await client.get(f"/guilds/{GUILD}")).text
    assert "/permissions" not in player and "/audit" not in player and f"/guilds/{GUILD}/mine" in player
    assert (await client.get(f"/guilds/{GUILD}/mine")).status_code == 200
    await log_in(app, client, STRANGER)
    assert (await client.get(f"/guilds/{GUILD}/settings")).status_code == 404
    assert (await client.get(api("/settings"))).status_code == 404
    # A rule can grant the settings permission to a plain member, and the pages follow at once.
    await db.permissions.set(GUILD, "user", PLAIN, can_settings=True)
    await log_in(app, client, PLAIN)
    assert (await client.get(f"/guilds/{GUILD}/settings")).status_code == 200


async def test_the_explainer_names_the_rule_that_decided(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish(db)
    await log_in(app, client, OWNER)

    async def rules_of(user_id: int) -> dict[str, tuple[bool, str, str]]:
        body = (await client.get(api(f"/permissions/explain?user_id={user_id}"))).json()
        return {a["action"]: (a["allowed"], a["rule"], a["explanation"]) for a in body["actions"]}

    assert (await rules_of(OWNER))["settings"][:2] == (True, "owner")
    assert (await rules_of(MANAGER))["clear"][:2] == (True, "administrator")
    dj = await rules_of(DJ_USER)
    assert dj["settings"][:2] == (True, "dj_role") and "@DJ" in dj["settings"][2]
    plain = await rules_of(PLAIN)
    assert plain["play"][:2] == (False, "voice") and plain["settings"][:2] == (False, "default")
    await db.permissions.set(GUILD, "role", GUILD, can_settings=True)
    assert (await rules_of(PLAIN))["settings"][:2] == (True, "everyone_rule")
    await db.permissions.set(GUILD, "user", PLAIN, can_settings=False)
    decided = (await rules_of(PLAIN))["settings"]
    assert decided[:2] == (False, "member_rule") and "rule for this member denies" in decided[2]
    assert (await client.get(api("/permissions/explain?user_id=999"))).status_code == 404
    page = (await client.get(f"/guilds/{GUILD}/permissions?member={PLAIN}")).text
    assert "member rule" in page and "Plain Member" in page


async def test_the_matrix_lists_roles_and_member_rules(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish(db)
    await db.permissions.set(GUILD, "role", GUILD, can_skip=False)
    await db.permissions.set(GUILD, "user", PLAIN, can_play=True)
    await log_in(app, client, OWNER)
    rules = (await client.get(api("/permissions"))).json()["rules"]
    by_target = {(r["target_kind"], r["target_id"]): r for r in rules}
    assert by_target[("role", str(GUILD))]["name"] == "@everyone"
    assert by_target[("role", str(GUILD))]["skip"] == "deny"
    assert by_target[("user", str(PLAIN))]["play"] == "allow"
    assert by_target[("role", str(DJ_ROLE))]["clear"] == "default"
    assert rules[-2]["target_kind"] == "role" and rules[-2]["name"] == "@everyone"  # weakest role last
    page = (await client.get(f"/guilds/{GUILD}/permissions")).text
    assert f'name="role:{GUILD}:skip"' in page and 'value="deny" selected' in page


async def test_saving_checks_fields_before_the_bot_and_answers_503_offline(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    db = context_of(app).db
    await publish(db)
    token = await log_in(app, client, OWNER)
    current = (await client.get(api("/settings"))).json()
    bad = {**current, "volume": 300, "prefix": "has space", "dj_role_id": "12345"}
    response = await client.put(api("/settings"), json=bad, headers=csrf(token))
    assert response.status_code == 422
    assert set(response.json()["errors"]) >= {"volume", "prefix"}
    unknown_role = {**current, "dj_role_id": "12345"}
    response = await client.put(api("/settings"), json=unknown_role, headers=csrf(token))
    assert response.status_code == 422 and response.json()["errors"] == {
        "dj_role_id": "no such role on this server"
    }
    assert (await client.put(api("/settings"), json=current, headers=csrf(token))).json()[
        "message"
    ] == "Nothing changed."
    offline = await client.put(api("/settings"), json={**current, "volume": 50}, headers=csrf(token))
    assert offline.status_code == 503 and "offline" in offline.json()["error"]
    rules = {"rules": [{"target_kind": "role", "target_id": "777", "skip": "deny"}]}
    response = await client.put(api("/permissions"), json=rules, headers=csrf(token))
    assert response.status_code == 422 and "rules.0.target_id" in response.json()["errors"]
    no_csrf = await client.put(api("/settings"), json=current)
    assert no_csrf.status_code == 403
    # The HTML form shows the error next to its field, keeping what was typed.
    form = {"csrf_token": token, "volume": "300", "idle_timeout_s": "60", "audit_retention_days": "90",
            "vote_skip_percent": "50", "prefix": "!"}  # fmt: skip
    page = await client.post(f"/guilds/{GUILD}/settings", data=form)
    assert page.status_code == 422
    assert (
        'id="volume-error"' in page.text and 'aria-invalid="true"' in page.text and 'value="300"' in page.text
    )


async def test_audit_pages_filters_and_csv(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish(db)
    for i in range(120):
        origin = ("discord", "web", "cli")[i % 3]
        detail = {"before": {"volume": i}, "after": {"volume": i + 1}} if i % 4 == 0 else {"to": i}
        action = "skip" if i % 4 else "settings"
        await db.audit.record(GUILD, PLAIN if i % 2 else DJ_USER, origin, action, detail)
    await db.directory.upsert_member(MemberInfo(GUILD, 16, "sly", "=SUM(A1)"))
    await db.audit.record(GUILD, 16, "discord", "play", {"title": "x"})
    await log_in(app, client, OWNER)
    seen, cursor = [], None
    while True:
        body = (
            await client.get(api("/audit"), params={"limit": 50, **({"cursor": cursor} if cursor else {})})
        ).json()
        seen += [int(e["id"]) for e in body["entries"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 121 and seen == sorted(seen, reverse=True)
    web = (await client.get(api("/audit"), params={"origin": "web", "member": str(PLAIN)})).json()["entries"]
    assert web and all(e["origin"] == "web" and e["actor_id"] == str(PLAIN) for e in web)
    assert (await client.get(api("/audit"), params={"origin": "mail"})).status_code == 422
    assert (await client.get(api("/audit"), params={"cursor": "abc"})).status_code == 400
    exported = await client.get(api("/audit.csv"), params={"action": "play"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0][:6] == ["id", "at", "actor_id", "actor", "origin", "action"]
    assert len(rows) == 2 and rows[1][5] == "play"
    assert rows[1][3] == "'=SUM(A1)"  # a spreadsheet would run a leading =: quoted away
    page = (await client.get(f"/guilds/{GUILD}/audit?action=settings&origin=discord")).text
    assert "<del>" in page and "<ins>" in page and "Older" not in page
    by_name = (await client.get(f"/guilds/{GUILD}/audit?member=Plain")).text
    assert by_name.count('class="audit-entry"') == 50 and "Deejay" not in by_name  # a name finds the member
    assert "Nothing logged" in (await client.get(f"/guilds/{GUILD}/audit?member=nobody-at-all")).text


async def test_stats_and_my_history(app: FastAPI, client: httpx.AsyncClient) -> None:
    db = context_of(app).db
    await publish(db)
    for i in range(5):
        track = Track(
            f"Song {i % 2}", f"local:song{i % 2}.flac", "local", duration_ms=180_000, requester_id=PLAIN
        )
        await db.history.record(GUILD, track)
    await db.history.record(
        GUILD, Track("Other", "local:o.flac", "local", duration_ms=60_000, requester_id=OWNER)
    )
    await log_in(app, client, OWNER)
    stats = (await client.get(api("/stats"))).json()
    assert stats["top_tracks"][0] == {"title": "Song 0", "url": "local:song0.flac", "plays": 3}
    assert stats["top_requesters"][0]["user_id"] == str(PLAIN) and stats["top_requesters"][0]["plays"] == 5
    assert len(stats["weeks"]) == 12 and stats["weeks"][-1]["hours"] == round(16 * 60 / 3600, 2)
    page = (await client.get(f"/guilds/{GUILD}/stats")).text
    assert "<svg" in page and 'class="bar"' in page and "Plain Member" in page
    await log_in(app, client, PLAIN)
    mine = (await client.get(f"/guilds/{GUILD}/mine")).text
    assert mine.count("Queue again") == 5 and "Other" not in mine and 'value="local:song1.flac"' in mine
