"""The codec server the Temporal UI and CLI call to read encrypted payloads (Temporal's remote
codec protocol: POST /codec/decode and /codec/encode with `{"payloads": [...]}` in proto
JSON). Supervisors only: a bearer token (CLI: `--codec-auth "Bearer …"`), or, for the UI in
a browser, the session `/codec/login` opens in exchange for a token (DESIGN §9): its own
random id in an HttpOnly, SameSite=Strict cookie for /codec (`Secure` over https) that
expires after `codec_session_hours`, or with the token, whichever is first; revoking or
rotating the token ends it. CORS answers the Temporal UI's origin only.
"""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Cookie, FastAPI, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.api.common.v1 import Payloads

from api.deps import Principal, RuntimeDep, is_https, principal_from_token, principal_of
from core.crypto import KeyringError
from core.envelope import EnvelopeCodec
from models.enums import Role
from store.principals import open_session, principal_for_token, session_holder

router = APIRouter(prefix="/codec", tags=["codec"])
COOKIE = "mediation_codec"
ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


def _only_supervisors(principal: Principal) -> Principal:
    if principal.role is not Role.supervisor:
        raise HTTPException(403, "only supervisors may decode payloads")
    return principal


async def _supervisor(rt: RuntimeDep, request: Request, session_id: str | None) -> Principal:
    """The bearer token if one is sent (the CLI), else the codec session's holder."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and header[7:].strip():
        return _only_supervisors(principal_from_token(rt, request, header[7:].strip()))
    # A session is looked up on every call (not cached): the UI decodes a page at a time.
    held = await rt.db(lambda s: session_holder(s, session_id, "codec")) if session_id else None
    if held is None:
        raise HTTPException(401, "a supervisor's bearer token or codec session is required")
    principal = principal_of(held[1])
    request.state.principal = principal  # for the audit log
    return _only_supervisors(principal)


# Temporal's Payloads in proto JSON, bytes as padded base64: a model, so the OpenAPI schema
# states exactly what the route accepts.
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
Base64Text = Annotated[str, Field(pattern=_BASE64)]


class ProtoPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metadata: dict[str, Base64Text] = Field(default_factory=dict)
    data: Base64Text = ""


class PayloadsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payloads: list[ProtoPayload]


def _codec_route(op: str) -> None:
    async def run(
        body: PayloadsBody,
        request: Request,
        rt: RuntimeDep,
        mediation_codec: Annotated[str | None, Cookie()] = None,
    ) -> JSONResponse:
        await _supervisor(rt, request, mediation_codec)
        try:
            payloads = ParseDict(body.model_dump(), Payloads())
        except ParseError:
            raise HTTPException(422, "the payloads are not proto JSON") from None
        codec = EnvelopeCodec(rt.keys)
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
        "(it opens a short session of its own, kept in an HttpOnly cookie for /codec; "
        "the token itself is not kept).</p>"
        "<form method=post><input name=token type=password size=60 autofocus>"
        "<button>Sign in</button></form>"
    )


@router.post("/login", include_in_schema=False)
async def login(request: Request, rt: RuntimeDep) -> Response:
    form = parse_qs((await request.body()).decode(errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    if not token:
        raise HTTPException(401, "a supervisor's token is required")
    # Straight from the store, not the cache: a sign-in is rare, and must see a revocation.
    row = await rt.db(lambda _s: principal_for_token(rt.engine, token))
    if row is None:
        raise HTTPException(401, "the token is not valid")
    principal = principal_of(row)
    request.state.principal = principal  # for the audit log
    _only_supervisors(principal)
    ttl = timedelta(hours=rt.settings.codec_session_hours)
    opened = await rt.db(lambda s: open_session(s, principal.id, "codec", ttl))
    page = HTMLResponse(
        f"<!doctype html><meta charset=utf-8><p>Signed in as {html.escape(principal.name)} "
        f"until {opened.expires_at:%Y-%m-%d %H:%M} UTC. "
        "The Temporal UI now shows decrypted payloads.</p>"
    )
    page.set_cookie(
        COOKIE,
        opened.session_id,
        expires=opened.expires_at,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/codec",
    )
    return page


def install(app: FastAPI, ui_origins: list[str]) -> None:
    """CORS for /codec only, and only for the Temporal UI's origins."""
    app.add_middleware(CodecCors, ui_origins=ui_origins)


class CodecCors:
    """Plain ASGI, as the audit's (api/audit.py)."""

    def __init__(self, app: ASGIApp, ui_origins: list[str]) -> None:
        self.app, self.ui_origins = app, ui_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/codec/"):
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        if origin not in self.ui_origins:
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
        if scope["method"] == "OPTIONS":
            headers |= {
                "Access-Control-Allow-Methods": "POST, OPTIONS",
                "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                "Access-Control-Max-Age": "600",
            }
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).update(headers)
            await send(message)

        await self.app(scope, receive, with_cors)
