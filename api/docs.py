"""The API's docs, /docs (Swagger UI) and /redoc (ReDoc), served from assets vendored under
api/static/vendor/ (each folder's VERSION names the npm package, its version and checksums).

FastAPI's own pages load their JavaScript, CSS, favicon and ReDoc's fonts from CDNs, and stay
blank on a machine without internet; these pages load everything from this API. The same
routes, titles and OAuth2 redirect as FastAPI's defaults, behind a proxy's root_path too.

Each page also carries a Content-Security-Policy that lets the browser reach this origin
only (ReDoc 2 showed Redocly's logo from cdn.redoc.ly whatever its options said: our copy
no longer asks, VERSION says how), so no request a later version adds leaves the browser.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from api.problems import problem

STATIC_DIR = Path(__file__).parent / "static"  # package data (pyproject.toml)
STATIC_URL = "/static"
SWAGGER_UI = f"{STATIC_URL}/vendor/swagger-ui"
REDOC = f"{STATIC_URL}/vendor/redoc"
FAVICON = f"{SWAGGER_UI}/favicon-32x32.png"
DOCS_URL = "/docs"
REDOC_URL = "/redoc"
OAUTH2_REDIRECT_URL = f"{DOCS_URL}/oauth2-redirect"  # FastAPI's default

# 'self' only. Inline scripts (Swagger UI's set-up, the OAuth2 redirect) by their hashes;
# inline styles as ReDoc's styled-components write them; ReDoc's search index in a blob:
# worker; Swagger UI's CSS icons as data: images.
CSP = (
    "default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def install(app: FastAPI) -> None:
    """Mount api/static at /static and serve /docs, /docs/oauth2-redirect and /redoc.

    The app is to be made with `docs_url=None, redoc_url=None`, so that FastAPI does not add
    its CDN-loading pages first."""
    app.mount(STATIC_URL, _StaticFiles(directory=STATIC_DIR), name="api-static")
    openapi_url = app.openapi_url
    if not openapi_url:  # no schema, no docs: as FastAPI does
        return

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON,
            oauth2_redirect_url=root + OAUTH2_REDIRECT_URL,
            init_oauth=app.swagger_ui_init_oauth,
            # Swagger UI would otherwise send the schema to validator.swagger.io for a badge.
            swagger_ui_parameters={**(app.swagger_ui_parameters or {}), "validatorUrl": None},
        )
        return _confined(page)

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return _confined(get_swagger_ui_oauth2_redirect_html())

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root_path(request)
        page = get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{REDOC}/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON,
            with_google_fonts=False,
        )
        return _confined(page)


def _confined(page: HTMLResponse) -> HTMLResponse:
    """The page with its Content-Security-Policy: its own inline scripts, by hash."""
    inline = re.findall(r"<script>(.*?)</script>", bytes(page.body).decode(), re.S)
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline
    )
    page.headers["Content-Security-Policy"] = CSP.format(hashes=hashes)
    return page


class _StaticFiles(StaticFiles):
    """StaticFiles whose 405 names its methods: problems.py's handler looks for them among
    the app's routes, where a mount's files are not to be found."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD"):
            allow = "GET, HEAD"
            await problem(405, f"this resource answers {allow}", {"Allow": allow})(
                scope, receive, send
            )
            return
        await super().__call__(scope, receive, send)


def _root_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")
