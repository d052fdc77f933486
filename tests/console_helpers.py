"""Helpers for tests that work the browser console over real HTTP (no browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def sign_in(http: httpx.AsyncClient, token: str, lang: str = "zh") -> str:
    """Sign `http` in as the token's principal (its cookie jar holds the session); the
    session's CSRF secret."""
    http.cookies.set("mediation_lang", lang)
    page = await http.get("/signin")
    assert page.status_code == 200, page.text
    r = await http.post(
        "/signin", data={"csrf_token": CSRF.search(page.text)[1], "token": token, "next": "/"}
    )
    assert r.status_code == 303, r.text
    home = await http.get("/")
    assert home.status_code == 303
    landing = await http.get(home.headers["location"])
    return CSRF.search(landing.text)[1]


class _Text(HTMLParser):
    """The text a person sees: text nodes outside script and style."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:  # what a screen reader or a tooltip says is visible too
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)
