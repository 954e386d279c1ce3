"""Sources: turn a user's query or link into tracks, and a track into media ffmpeg may read.

The front door is `zilean.core.sources.resolver.Resolver`. Every network fetch goes through `netguard`.
"""
