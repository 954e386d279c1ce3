"""Titles inside messages are inert: markdown escaped, masked links dead (review of issue #14)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from zilean.core.errors import SourceError
from zilean.core.sources import Resolver, SourceOptions
from zilean.core.sources.library import Library
from zilean.core.text import escape_markdown, quoted_title
from zilean.core.track import Track

PHISH = "[Free Nitro](https://phish.example)"
UNESCAPED_LINK_SYNTAX = re.compile(r"(?<!\\)[\[\]()]")


def test_a_masked_link_in_a_title_cannot_render_as_a_link() -> None:
    shown = quoted_title(PHISH)
    assert shown == "“\\[Free Nitro\\]\\(https://phish.example\\)”"
    assert UNESCAPED_LINK_SYNTAX.search(shown) is None


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("**bold** _it_ ~~gone~~", "\\*\\*bold\\*\\* \\_it\\_ \\~\\~gone\\~\\~"),
        ("`code` ||spoiler||", "\\`code\\` \\|\\|spoiler\\|\\|"),
        ("> quote", "\\> quote"),
        ("# Heading", "\\# Heading"),
        ("- item", "\\- item"),
        ("Artist - Song #1", "Artist - Song #1"),  # only at the start do - and # mean anything
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two lines"),
    ],
)  # fmt: skip
def test_escape_markdown(text: str, escaped: str) -> None:
    assert escape_markdown(text) == escaped


def test_long_titles_are_clipped_before_escaping() -> None:
    shown = quoted_title("*" * 500, limit=10)
    assert shown == "“" + "\\*" * 9 + "…”"


def test_a_library_error_escapes_the_title(tmp_path: Path) -> None:
    library = Library(tmp_path)
    try:
        with pytest.raises(SourceError) as caught:
            library.media_input(Track(title=PHISH, url="local:gone.mp3", source="local"))
    finally:
        library.close()
    assert caught.value.message.startswith("“\\[Free Nitro\\]")
    assert UNESCAPED_LINK_SYNTAX.search(caught.value.message) is None


async def test_a_resolver_error_escapes_the_title(tmp_path: Path) -> None:
    resolver = Resolver(SourceOptions(search_provider="local", library_dir=tmp_path))
    try:
        with pytest.raises(SourceError) as caught:
            await resolver.stream_for(Track(title=PHISH, url="local:gone.mp3", source="local"))
    finally:
        await resolver.close()
    assert "Free Nitro" in caught.value.message
    assert UNESCAPED_LINK_SYNTAX.search(caught.value.message) is None
