"""Message bodies as Discord validates them (lengths, embed limits, mentions) and turned into Messages."""

from __future__ import annotations

import json
import mimetypes
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from zilean.sandbox.responses import DiscordHTTPError, form_error
from zilean.sandbox.world import Attachment, Guild, Message, World, iso_now

CONTENT_MAX = 2000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
EMBED_TOTAL_MAX = 6000
USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass
class Upload:
    """A file part of a multipart message request."""

    index: int
    filename: str
    data: bytes
    content_type: str


@dataclass
class MessageBody:
    """A parsed create/edit body: the JSON payload plus any uploaded files."""

    payload: dict[str, Any]
    uploads: list[Upload] = field(default_factory=list)


async def read_body(request: web.Request) -> MessageBody:
    """JSON, or multipart with `payload_json` and `files[n]` parts, as discord.py sends them."""
    if not request.content_type.startswith("multipart/"):
        try:
            payload = await request.json() if request.can_read_body else {}
        except ValueError:
            raise DiscordHTTPError(400, 50109, "The request body contains invalid JSON.") from None
        return MessageBody(payload if isinstance(payload, dict) else {})
    form = await request.post()
    raw = form.get("payload_json", "{}")
    if isinstance(raw, web.FileField):
        raw = raw.file.read()
    payload = json.loads(raw if isinstance(raw, str | bytes | bytearray) else "{}")
    uploads = []
    for key, value in form.items():
        match = re.fullmatch(r"files\[(\d+)\]", key)
        if match and isinstance(value, web.FileField):
            guessed = mimetypes.guess_type(value.filename)[0] or "application/octet-stream"
            content_type = (
                value.content_type if value.content_type not in ("", "application/octet-stream") else guessed
            )
            uploads.append(Upload(int(match[1]), value.filename, value.file.read(), content_type))
    return MessageBody(payload, uploads)


def _embed_size(embed: dict[str, Any]) -> int:
    size = len(embed.get("title") or "") + len(embed.get("description") or "")
    size += len((embed.get("footer") or {}).get("text") or "") + len(
        (embed.get("author") or {}).get("name") or ""
    )
    for fld in embed.get("fields") or []:
        size += len(fld.get("name") or "") + len(fld.get("value") or "")
    return size


def validate(payload: dict[str, Any], *, creating: bool, has_files: bool = False) -> None:
    """Raises Discord's 400 for content, embed and component limits, or an empty new message."""
    content = payload.get("content")
    if content is not None and len(str(content)) > CONTENT_MAX:
        raise form_error("content", "BASE_TYPE_MAX_LENGTH", f"Must be {CONTENT_MAX} or fewer in length.")
    embeds = payload.get("embeds") or []
    if len(embeds) > 10:
        raise form_error("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    for i, embed in enumerate(embeds):
        for key, limit in EMBED_LIMITS.items():
            if len(embed.get(key) or "") > limit:
                raise form_error(
                    f"embeds.{i}.{key}", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                )
        fields = embed.get("fields") or []
        if len(fields) > 25:
            raise form_error(f"embeds.{i}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
        for j, fld in enumerate(fields):
            for key, limit in FIELD_LIMITS.items():
                if len(fld.get(key) or "") > limit:
                    raise form_error(
                        f"embeds.{i}.fields.{j}.{key}",
                        "BASE_TYPE_MAX_LENGTH",
                        f"Must be {limit} or fewer in length.",
                    )
    if sum(_embed_size(e) for e in embeds) > EMBED_TOTAL_MAX:
        raise form_error(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {EMBED_TOTAL_MAX}"
        )
    if len(payload.get("components") or []) > 5:
        raise form_error("components", "BASE_TYPE_MAX_LENGTH", "Must be 5 or fewer in length.")
    empty = not (content or embeds or payload.get("components") or payload.get("sticker_ids") or has_files)
    if creating and empty:
        raise DiscordHTTPError(400, 50006, "Cannot send an empty message")


def mentions(
    guild: Guild | None, content: str, allowed: dict[str, Any] | None, replied_user: int | None
) -> tuple[list[int], list[int], bool]:
    """(user ids, role ids, everyone) that actually ping, after `allowed_mentions` as Discord applies it."""
    users = [int(x) for x in USER_MENTION.findall(content)]
    roles = [int(x) for x in ROLE_MENTION.findall(content)]
    everyone = "@everyone" in content or "@here" in content
    if guild is not None:
        users = [u for u in users if u in guild.members]
        roles = [r for r in roles if r in guild.roles]
    if allowed is not None:
        parse = allowed.get("parse") or []
        allowed_users = {int(x) for x in allowed.get("users") or []}
        allowed_roles = {int(x) for x in allowed.get("roles") or []}
        users = [u for u in users if "users" in parse or u in allowed_users]
        roles = [r for r in roles if "roles" in parse or r in allowed_roles]
        everyone = everyone and "everyone" in parse
        if replied_user is not None and allowed.get("replied_user", False) and replied_user not in users:
            users.append(replied_user)
    elif replied_user is not None and replied_user not in users:
        users.append(replied_user)
    return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone


def _attachments(
    world: World, payload: dict[str, Any], uploads: list[Upload], keep: list[Attachment]
) -> list[Attachment]:
    by_index = {u.index: u for u in uploads}
    result: list[Attachment] = []
    listed = payload.get("attachments")
    if listed is None:
        result = list(keep)
        for upload in uploads:
            result.append(world.add_attachment(upload.filename, upload.data, upload.content_type))
        return result
    existing = {a.id: a for a in keep}
    for item in listed:
        raw_id = int(item.get("id", -1))
        if raw_id in existing:
            result.append(existing[raw_id])
        elif raw_id in by_index:
            upload = by_index.pop(raw_id)
            result.append(
                world.add_attachment(
                    item.get("filename") or upload.filename, upload.data, upload.content_type
                )
            )
    for upload in by_index.values():
        result.append(world.add_attachment(upload.filename, upload.data, upload.content_type))
    return result


def apply(world: World, message: Message, body: MessageBody, *, creating: bool) -> None:
    """Writes a create/edit body into `message` (validated first), recomputing mentions."""
    payload = body.payload
    validate(payload, creating=creating, has_files=bool(body.uploads))
    for key in ("content", "embeds", "components"):
        if key in payload and payload[key] is not None:
            setattr(message, key, payload[key] if key != "content" else str(payload[key]))
    if "flags" in payload and payload["flags"] is not None:
        # Only SUPPRESS_EMBEDS (4), EPHEMERAL (64) and SUPPRESS_NOTIFICATIONS (4096) can be set by a sender.
        settable = 4 | 4096 | (64 if creating else 0)
        message.flags = (message.flags & ~settable) | (int(payload["flags"]) & settable)
    if "allowed_mentions" in payload:
        message.allowed_mentions = payload["allowed_mentions"]
    if creating:
        message.tts = bool(payload.get("tts", False))
        ref = payload.get("message_reference") or {}
        if ref.get("message_id"):
            ref_id = int(ref["message_id"])
            if ref_id not in world.messages and ref.get("fail_if_not_exists", True):
                raise form_error("message_reference", "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
            message.reference_id = ref_id if ref_id in world.messages else None
            message.type = 19 if message.reference_id else message.type
    else:
        message.edited_timestamp = iso_now()
    if creating or body.uploads or "attachments" in payload:
        message.attachments = _attachments(world, payload, body.uploads, message.attachments)
    guild = world.guilds.get(message.guild_id) if message.guild_id else None
    replied = world.messages[message.reference_id].author_id if message.reference_id else None
    message.mention_user_ids, message.mention_role_ids, message.mention_everyone = mentions(
        guild, message.content, message.allowed_mentions, replied
    )
