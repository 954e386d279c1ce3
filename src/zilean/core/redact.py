"""Passwords out of whatever is shown or logged: the credentials in URLs (database URLs above all)."""

from __future__ import annotations

import re

# scheme://user:password@ — the password runs to the last "@" before the next whitespace, so a
# password with an unencoded "@" is hidden whole (at worst a little more is hidden, never less).
_CREDENTIALS = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>\S*?)@(?=[^@\s]*(?:\s|$))"
)
HIDDEN = "***"


def redact_urls(text: str) -> str:
    """`text` with the password of every scheme://user:password@host URL in it replaced by ***."""
    return _CREDENTIALS.sub(lambda match: f"{match['scheme']}{match['user']}:{HIDDEN}@", text)


def redact_url(raw: str) -> str:
    """One URL for display, its password hidden; for a malformed one, everything before the last "@"."""
    redacted = redact_urls(raw)
    if redacted != raw or "@" not in raw:
        return redacted
    return f"{HIDDEN}@{raw.rsplit('@', 1)[1]}"
