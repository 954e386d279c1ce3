"""The bot's /readyz follows its database: 200 while it answers, 503 once it is gone (a dropped database)."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from polling import until_value
from real_bot import real_bot
from zilean.sandbox.server import Sandbox, SandboxConfig

pytestmark = pytest.mark.postgres


async def test_readyz_is_200_then_503_when_the_database_is_dropped(
    scratch_postgres_url: str, postgres_admin_url: str, tmp_path: Path
) -> None:
    library = tmp_path / "library"
    library.mkdir()
    async with Sandbox(config=SandboxConfig()) as sandbox:
        async with real_bot(sandbox, scratch_postgres_url, library, tmp_path / "logs", metrics_port=0) as bot:
            async with httpx.AsyncClient(base_url=bot.metrics_server.url, timeout=10) as http:
                ready = await until_value(
                    lambda: http.get("/readyz"), lambda r: r.status_code == 200, what="the bot ready"
                )
                assert ready.json()["database"] is True

                name = make_url(scratch_postgres_url).database
                admin = make_url(postgres_admin_url).set(drivername="postgresql")
                conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
                try:
                    await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
                finally:
                    await conn.close()

                gone = await until_value(
                    lambda: http.get("/readyz"), lambda r: r.status_code == 503, what="readyz refusing"
                )
                assert gone.json() == {"ready": False, "gateway": True, "database": False, "heartbeat": False}
                assert (await http.get("/healthz")).status_code == 200  # alive, only not ready
