"""Top-N search for the `search` command.

`Resolver.resolve()` returns only the best hit; the select menu needs several. Until the resolver
offers a multi-result search, this helper asks the same two back ends the resolver uses (the local
library or the yt-dlp search provider) through the resolver's own instances.
"""

from __future__ import annotations

from zilean.core.errors import SourceError
from zilean.core.sources import Resolver
from zilean.core.sources.resolver import track_from_entry
from zilean.core.track import Track


async def search_top(resolver: Resolver, query: str, limit: int) -> list[Track]:
    """Up to `limit` tracks matching `query` from the configured search provider."""
    text = query.strip()
    if not text:
        return []
    provider = resolver.options.search_provider
    if text.lower().startswith("local:") or provider == "local":
        library = resolver._library
        if library is None:
            raise SourceError("The local music library is not set up (LIBRARY_DIR).")
        words = text[len("local:") :] if text.lower().startswith("local:") else text
        return await library.search(words.strip(), limit=limit)
    info = await resolver._ytdlp.extract(f"{provider}{limit}:{text}", flat=True, limit=limit)
    return [track_from_entry(entry) for entry in info.get("entries", []) if entry.get("url")][:limit]
