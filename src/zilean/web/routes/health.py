"""GET /healthz: the process answers (for nginx, systemd or a load balancer); no database, no session."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}
