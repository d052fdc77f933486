"""The codec server the Temporal UI and CLI call to read encrypted payloads (Temporal's remote
codec protocol: POST /codec/decode and /codec/encode with `{"payloads": [...]}` in proto
JSON). Supervisors only: a bearer token (CLI: `--codec-auth "Bearer …"`), or, for the UI in
a browser, the cookie that `/codec/login` sets. CORS answers the Temporal UI's origin only.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Cookie, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from temporalio.api.common.v1 import Payloads

from api.deps import Principal, RuntimeDep, principal_from_token
from core.crypto import EncryptionCodec, KeyringError
from models.enums import Role

router = APIRouter(prefix="/codec", tags=["codec"])
COOKIE = "mediation_codec"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def _supervisor(rt: RuntimeDep, request: Request, cookie: str | None) -> Principal:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else cookie
    if not token:
        raise HTTPException(401, "a supervisor's bearer token is required")
    principal = principal_from_token(rt, request, token)
    if principal.role is not Role.supervisor:
        raise HTTPException(403, "only supervisors may decode payloads")
    return principal


async def _payloads(request: Request) -> Payloads:
    try:
        body = await request.json()
        return ParseDict(body, Payloads())
    except (ValueError, ParseError):
        raise HTTPException(422, 'the body must be {"payloads": [...]} in proto JSON') from None


def _codec_route(op: str) -> None:
    async def run(
        request: Request,
        rt: RuntimeDep,
        mediation_codec: Annotated[str | None, Cookie()] = None,
    ) -> JSONResponse:
        _supervisor(rt, request, mediation_codec)
        payloads = await _payloads(request)
        codec = EncryptionCodec(rt.keyring)
        try:
            fn = codec.decode if op == "decode" else codec.encode
            result = await fn(list(payloads.payloads))
        except KeyringError as exc:
            raise HTTPException(422, str(exc)) from None
        return JSONResponse(MessageToDict(Payloads(payloads=result)))

    run.__name__ = f"codec_{op}"
    router.add_api_route(
        f"/{op}",
        run,
        methods=["POST"],
        summary=f"{op} payloads (Temporal remote codec)",
        responses={
            200: {"description": "the payloads, {op}d", "content": {"application/json": {}}},
            401: {"description": "no supervisor token"},
            403: {"description": "not a supervisor"},
            422: {"description": "not proto-JSON payloads, or a key not in the ring"},
        },
    )


_codec_route("decode")
_codec_route("encode")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
async def login_page() -> str:
    return (
        "<!doctype html><meta charset=utf-8><title>Codec login</title>"
        "<p>Paste a supervisor's token to read decrypted payloads in the Temporal UI "
        "(it is kept in an HttpOnly cookie for /codec).</p>"
        "<form method=post><input name=token type=password size=60 autofocus>"
        "<button>Sign in</button></form>"
    )


@router.post("/login", include_in_schema=False)
async def login(request: Request, rt: RuntimeDep) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    principal = _supervisor(rt, request, token)  # 401 without a token, 403 if not a supervisor
    page = HTMLResponse(
        f"<!doctype html><meta charset=utf-8><p>Signed in as {html.escape(principal.name)}. "
        "The Temporal UI now shows decrypted payloads.</p>"
    )
    page.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/codec")
    return page


def install(app: FastAPI, ui_origins: list[str]) -> None:
    """CORS for /codec only, and only for the Temporal UI's origins."""

    @app.middleware("http")
    async def codec_cors(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        origin = request.headers.get("origin")
        if not request.url.path.startswith("/codec/") or origin not in ui_origins:
            return await call_next(request)
        headers: dict[str, Any] = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
        if request.method == "OPTIONS":
            headers |= {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            }
            return Response(status_code=204, headers=headers)
        response = await call_next(request)
        response.headers.update(headers)
        return response
