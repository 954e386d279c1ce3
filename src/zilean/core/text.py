"""Site- and user-provided text made inert for messages: no markdown, and above all no masked links."""

from __future__ import annotations

import re

# Discord's markdown: emphasis, code, spoilers, quotes, and `[text](url)` masked links (a title such
# as "[Free Nitro](https://phish.example)" would otherwise become a live link in an embed).
_MARKDOWN = re.compile(r"([\\*_~`|>\[\]()])")
_LINE_START = re.compile(r"^(\s*)([#-])")  # headings and list items only count at the start
TITLE_IN_MESSAGE = 200


def escape_markdown(text: str) -> str:
    """`text` on one line with every markdown character escaped (shown as itself, never formatting)."""
    flat = " ".join(text.splitlines())
    return _LINE_START.sub(r"\1\\\2", _MARKDOWN.sub(r"\\\1", flat))


def quoted_title(title: str, limit: int = TITLE_IN_MESSAGE) -> str:
    """A title for a user-facing message: “…”, clipped to `limit` characters, markdown escaped."""
    clipped = title if len(title) <= limit else title[: limit - 1] + "…"
    return f"“{escape_markdown(clipped)}”"
