"""A local, protocol-faithful Discord emulator: REST, gateway, voice, OAuth2 and a control API."""

from zilean.sandbox.server import Sandbox, SandboxConfig
from zilean.sandbox.world import World, build_world, load_world

__all__ = ["Sandbox", "SandboxConfig", "World", "build_world", "load_world"]
