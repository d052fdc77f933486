"""A request body limit (DESIGN §6: 64 KiB answers 413): checked on the declared length and
on the bytes as they arrive, so a chunked body cannot slip past it. Plain ASGI, as the
audit and metrics middleware are."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

MAX_BODY = 64 * 1024


def install(app: FastAPI, max_body: int = MAX_BODY) -> None:
    app.add_middleware(BodyLimitMiddleware, max_body=max_body)


def _limited(scope: Scope) -> bool:
    """The API's bodies, and the console's forms (every POST but the codec's payloads)."""
    path: str = scope["path"]
    return path.startswith("/api/") or (
        scope["method"] == "POST" and not path.startswith("/codec/")
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _limited(scope):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        too_large = False

        async def counted() -> Message:
            # Past the limit the app is told the body ended (and whatever it makes of the
            # stump is replaced below): raising here would reach FastAPI's body parser,
            # which turns any error into "invalid JSON".
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def answered(message: Message) -> None:
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                await self._refuse(scope, receive, send)

        await self.app(scope, counted, answered)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_body // 1024} KiB"
        await problem(413, detail)(scope, receive, send)
