"""Browser fixtures: one headless Chromium per module (starting it is the slow part).

Chromium missing: the tests are skipped on a developer machine, and FAIL when REQUIRE_CHROMIUM=1
(CI sets it; .ci/run installs Debian's chromium package).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from browser_kit import chromium_path, launched_browser
from playwright.async_api import Browser


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium shared by the module's tests."""
    if chromium_path() is None:
        if os.environ.get("REQUIRE_CHROMIUM") == "1":
            pytest.fail("Chromium is required (REQUIRE_CHROMIUM=1) but missing: apt-get install chromium")
        pytest.skip("no Chromium (apt-get install chromium); REQUIRE_CHROMIUM=1 makes this a failure")
    async with launched_browser() as running:
        yield running
