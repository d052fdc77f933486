"""/docs and /redoc work offline: every asset they load is served by the API itself, from
the copies vendored under api/static/vendor/ (api/docs.py), and no page names another host."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

import httpx
import pytest

from tests.conftest import repo_root

VENDOR = repo_root() / "api" / "static" / "vendor"


class Assets(HTMLParser):
    """Every URL a page loads: <script src> and <link href>."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        url = dict(attrs).get(wanted) if wanted else None
        if url is not None:
            self.urls.append(url)


def assets_of(page: str) -> list[str]:
    parser = Assets()
    parser.feed(page)
    parser.close()
    return parser.urls


# What each kind of asset must be answered with, and the least a real copy weighs.
EXPECTED = {
    ".js": ("javascript", 100_000),
    ".css": ("text/css", 10_000),
    ".png": ("image/png", 100),
}


@pytest.mark.parametrize(
    ("page", "kinds"),
    [("/docs", {".js", ".css", ".png"}), ("/redoc", {".js", ".png"})],
)
async def test_docs_page_loads_only_its_own_assets(
    http: httpx.AsyncClient, page: str, kinds: set[str]
) -> None:
    r = await http.get(page)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    # No CDN, no Google Fonts, no validator.swagger.io, no fastapi.tiangolo.com favicon.
    assert "://" not in r.text, r.text
    urls = assets_of(r.text)
    assert {re.sub(r".*(\.\w+)$", r"\1", u) for u in urls} == kinds, urls
    for url in urls:
        assert url.startswith("/static/vendor/"), url
        asset = await http.get(url)
        assert asset.status_code == 200, url
        kind, least = EXPECTED[url[url.rindex(".") :]]
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > least, (url, len(asset.content))


async def test_swagger_ui_validates_nothing_elsewhere_and_keeps_its_oauth2_redirect(
    http: httpx.AsyncClient,
) -> None:
    page = (await http.get("/docs")).text
    assert '"validatorUrl": null' in page
    assert "url: '/openapi.json'" in page
    assert "window.location.origin + '/docs/oauth2-redirect'" in page
    redirect = await http.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "swaggerUIRedirectOauth2" in redirect.text
    assert '<redoc spec-url="/openapi.json">' in (await http.get("/redoc")).text


@pytest.mark.parametrize("page", ["/docs", "/redoc", "/docs/oauth2-redirect"])
async def test_docs_pages_let_the_browser_reach_this_origin_only(
    http: httpx.AsyncClient, page: str
) -> None:
    """ReDoc 2 shows a logo from cdn.redoc.ly whatever its options: the policy stops it."""
    r = await http.get(page)
    policy = dict(d.strip().split(" ", 1) for d in r.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    for directive in ("script-src", "style-src", "img-src", "font-src", "connect-src"):
        assert "'self'" in policy[directive] and "http" not in policy[directive], directive
    for inline in re.findall(r"<script>(.*?)</script>", r.text, re.S):
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy["script-src"]


async def test_openapi_still_answers_and_lists_no_docs_route(http: httpx.AsyncClient) -> None:
    r = await http.get("/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/cases" in paths
    assert not [p for p in paths if p.startswith(("/docs", "/redoc", "/static"))]


async def test_static_files_are_one_metrics_label_and_refuse_other_methods(
    http: httpx.AsyncClient,
) -> None:
    await http.get("/static/vendor/redoc/redoc.standalone.js")
    assert (await http.get("/static/vendor/no-such-file.js")).status_code == 404
    post = await http.post("/static/vendor/redoc/LICENSE")
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    assert post.headers["content-type"] == "application/problem+json"
    text = (await http.get("/metrics")).text
    assert 'route="/static/{path}",status="200"' in text
    assert 'route="/static/{path}",status="404"' in text
    assert "/static/vendor" not in text  # the mount's template, never a file's path


def test_vendored_files_are_the_ones_their_version_file_names() -> None:
    """Each copy is the one VERSION describes (the tarball's file, or its one stated change)."""
    for folder in ("swagger-ui", "redoc"):
        version = (VENDOR / folder / "VERSION").read_text("utf-8")
        assert re.search(r"^integrity: sha512-\S+$", version, re.M), folder
        sums = dict(
            (name, digest)
            for digest, name in re.findall(r"^sha256: ([0-9a-f]{64})  (\S+)$", version, re.M)
        )
        files = {p.name for p in (VENDOR / folder).iterdir()} - {"VERSION"}
        assert set(sums) == files, folder
        assert "LICENSE" in files and not [f for f in files if f.endswith(".map")]
        for name, digest in sums.items():
            assert hashlib.sha256((VENDOR / folder / name).read_bytes()).hexdigest() == digest
