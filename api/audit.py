"""Audit log: every API and console read, write and denial, with who, what route and the
status code.

Only ids go in (the route template, the path of ids, the case id): never bodies or query
strings, where personal data may travel.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy import insert
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.tables import AuditLog, utcnow

# What no person's data is read or written through: assets, docs, probes, metrics. The API,
# the codec and every console page are audited.
NOT_AUDITED = (
    "/assets/",
    "/static/",
    "/docs",
    "/redoc",
    "/openapi.json",
    "/metrics",
    "/healthz",
    "/readyz",
    "/lang/",
    "/favicon",
)


# Built once, its values bound at each request: built with `.values(**entry)` each time,
# SQLAlchemy derived its cache key again (python -m bench.steps, three runs each way: an
# audit row 0.28-0.34 ms of CPU that way, 0.10-0.16 ms this way).
AUDIT_ROW = insert(AuditLog.__table__)  # type: ignore[attr-defined]


def install(app: FastAPI) -> None:
    app.add_middleware(AuditMiddleware)


class AuditMiddleware:
    """Plain ASGI: Starlette's `@app.middleware("http")` runs every request through a task
    and memory streams, which cost more than the audit itself (py-spy, make bench)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NOT_AUDITED):
            await self.app(scope, receive, send)
            return

        async def audited(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Written before the answer leaves: no answer without its audit row.
                await asyncio.to_thread(write_row, scope, message["status"])
            await send(message)

        await self.app(scope, receive, audited)


def write_row(scope: Scope, status: int) -> None:
    """The request's audit row, in a transaction of its own (the middleware's, on a thread)."""
    template = getattr(scope.get("route"), "path", "(no route)")
    principal = scope.get("state", {}).get("principal")
    case_id = str(scope.get("path_params", {}).get("case_id", ""))[:64] or None
    entry = {
        "at": utcnow(),
        "principal_id": principal.id if principal else None,
        "role": principal.role.value if principal else None,
        "action": f"{scope['method']} {template}"[:64],
        "resource": scope["path"][:200],
        "case_id": case_id,
        "status_code": status,
    }
    engine = scope["app"].state.runtime.engine
    with engine.begin() as conn:  # a Core insert: the ORM's unit of work cost more
        conn.execute(AUDIT_ROW, entry)
