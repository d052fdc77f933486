"""Debian's Chromium under Playwright for Python, for the console's browser tests. Nothing is
downloaded: `playwright install` is never run; the browser is /usr/bin/chromium."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

CHROMIUM = os.environ.get("MEDIATION_CHROMIUM", "/usr/bin/chromium")
HOW = (
    "the browser tests need Debian's chromium and a CJK font: "
    "sudo apt-get install -y chromium fonts-noto-cjk "
    "(or set MEDIATION_SKIP_BROWSER=1 to skip them on purpose)"
)
# As the machine's own notes say: without these, Chromium keeps calling Google's hosts.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SHOTS = Path("var/screenshots")
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}


def browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing"
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    if shutil.which("fc-list") and not fonts.stdout.strip():
        return "no CJK font is installed"
    return None


@pytest_asyncio.fixture(scope="module")
async def chromium() -> AsyncIterator[object]:
    missing = browser_missing()
    if missing:
        if os.environ.get("MEDIATION_SKIP_BROWSER") == "1":
            pytest.skip(f"{missing}; skipped as MEDIATION_SKIP_BROWSER=1 asks")
        pytest.fail(f"{missing}: {HOW}", pytrace=False)
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


class Hosts:
    """Every host a page asked for."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, request: object) -> None:
        url = request.url  # type: ignore[attr-defined]
        if not url.startswith(("data:", "blob:", "about:")):
            self.seen.add(urlsplit(url).netloc)


async def shoot(page: object, name: str) -> list[Path]:
    """The page at desktop and phone width, whole, under var/screenshots/."""
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    paths = []
    for label, (width, height) in WIDTHS.items():
        await page.set_viewport_size({"width": width, "height": height})  # type: ignore[attr-defined]
        path = SHOTS / f"{name}-{label}.png"
        await page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
        paths.append(path)
    await page.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]
    return paths
