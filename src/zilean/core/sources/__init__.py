"""Sources: turn a user's query or link into tracks, and a track into media ffmpeg may read.

The front door is `Resolver`. Every network fetch goes through `netguard`.
"""

from zilean.core.sources.options import SourceOptions
from zilean.core.sources.resolver import Resolver
from zilean.core.sources.results import LoadFailed, LoadResult, NoMatches, PlaylistLoaded, TrackLoaded

__all__ = [
    "LoadFailed",
    "LoadResult",
    "NoMatches",
    "PlaylistLoaded",
    "Resolver",
    "SourceOptions",
    "TrackLoaded",
]
