"""The sandbox fixtures (shared with the bot and dashboard tests through zilean.sandbox.testing)."""

from zilean.sandbox.testing import sandbox, sandbox_client, sandbox_http, user_in_voice

__all__ = ["sandbox", "sandbox_client", "sandbox_http", "user_in_voice"]
