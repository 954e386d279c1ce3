"""A bot in another process trusts the sandbox certificate through SSL_CERT_FILE alone."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from zilean.sandbox.voice import VoiceServer

# What discord.py does for the voice websocket: aiohttp's default (verifying) TLS context, wss://.
CLIENT = """
import asyncio, sys, aiohttp

async def main():
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(f"wss://{sys.argv[1]}/?v=8", compress=15) as ws:
            print((await ws.receive()).data)

asyncio.run(main())
"""


async def _run_client(endpoint: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CLIENT, endpoint, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 30)
    return process.returncode or 0, out.decode(), err.decode()


async def test_ssl_cert_file_makes_a_subprocess_trust_the_voice_endpoint(voice_server: VoiceServer) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    code, out, err = await _run_client(
        voice_server.endpoint, {**env, "SSL_CERT_FILE": str(voice_server.cert_path)}
    )
    assert code == 0, err
    assert json.loads(out)["op"] == 8

    code, _out, err = await _run_client(voice_server.endpoint, env)
    assert code != 0 and "CERTIFICATE_VERIFY_FAILED" in err
