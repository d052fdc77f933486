"""Audit log: every API read, write and denial, with who, what route and the status code.

Only ids go in (the route template, the path of ids, the case id): never bodies or query
strings, where personal data may travel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from sqlalchemy import insert

from models.tables import AuditLog, utcnow


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def audit(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if not request.url.path.startswith(("/api/", "/codec/")):
            return response
        route = request.scope.get("route")
        template = getattr(route, "path", "(no route)")
        principal = getattr(request.state, "principal", None)
        case_id = str(request.scope.get("path_params", {}).get("case_id", ""))[:64] or None
        entry = {
            "at": utcnow(),
            "principal_id": principal.id if principal else None,
            "role": principal.role.value if principal else None,
            "action": f"{request.method} {template}"[:64],
            "resource": request.url.path[:200],
            "case_id": case_id,
            "status_code": response.status_code,
        }
        engine = request.app.state.runtime.engine

        def write() -> None:
            # Before the answer leaves, as a Core insert: the ORM's unit of work cost more
            # than the row itself.
            with engine.begin() as conn:
                conn.execute(insert(AuditLog.__table__).values(**entry))  # type: ignore[attr-defined]

        await asyncio.to_thread(write)
        return response
