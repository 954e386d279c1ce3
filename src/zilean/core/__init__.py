"""Playback core: sources, queue, player, effects and the audio pipeline.

Knows nothing of Discord, HTTP frameworks or SQL (tests/test_layering.py enforces it).
"""
