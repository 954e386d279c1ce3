"""GET /docs: Swagger UI for the OpenAPI schema at /openapi.json.

FastAPI's page runs one inline script and loads Swagger UI from a CDN; the page gets its own CSP
that allows exactly that script (by hash) and that CDN, so the rest of the site keeps `script-src 'self'`.
Offline (no CDN) the page stays blank, and /openapi.json is the schema either way.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

CDN = "https://cdn.jsdelivr.net"


@router.get("/docs")
async def swagger() -> HTMLResponse:
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="Groovy Zilean API")
    text = bytes(page.body).decode()
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", text, flags=re.S)
    )
    csp = (
        f"default-src 'self'; script-src 'self' {CDN} {hashes}; style-src 'self' {CDN}; "
        f"img-src 'self' data: {CDN} https://fastapi.tiangolo.com; frame-ancestors 'none'; base-uri 'none'"
    )
    return HTMLResponse(text, headers={"Content-Security-Policy": csp})
