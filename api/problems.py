"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Content too large",
    422: "Invalid request",
    500: "Internal server error",
    503: "Service unavailable",
}


DESCRIPTIONS = {
    401: "no bearer token, or one that is not valid",
    403: "your role may not do this",
    404: "no such case, or outside your scope",
    409: "not possible in the case's current state (the detail says why)",
    410: "the case's personal data was erased: what was sealed with its key is gone",
    413: "the request body is larger than 64 KiB",
    422: "the request does not match the contract (the errors say where)",
    503: (
        "a dependency (database or Temporal) is not available, or the command did not finish "
        "in time; try again after `Retry-After` seconds (with the same Idempotency-Key)"
    ),
}


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class FieldError(BaseModel):
    loc: list[str]
    msg: str
    type: str


class ValidationProblem(Problem):
    errors: list[FieldError]


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem responses a route can give."""
    return {
        code: {
            "model": ValidationProblem if code == 422 else Problem,
            "description": DESCRIPTIONS[code],
        }
        for code in codes
    }


RETRY_AFTER = "2"  # seconds: long enough for a restarting worker or a busy case


def problem(
    status: int, detail: str, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The answer, with the headers its status needs: `WWW-Authenticate` on 401,
    `Retry-After` on 503, and whatever the error carried (`Allow` on 405)."""
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    needed = dict(headers or {})
    if status == 401:
        needed.setdefault("WWW-Authenticate", "Bearer")
    if status == 503:
        needed.setdefault("Retry-After", RETRY_AFTER)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=needed)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Where and what, never the submitted value (it may be somebody's phone number)."""
    return [
        {
            "loc": [str(p) for p in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in exc.errors()
    ]


def _problem_media_type(app: FastAPI) -> None:
    """Error responses are documented as application/problem+json, as they are sent."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for operations in schema.get("paths", {}).values():
                for op in operations.values():
                    for code, response in op.get("responses", {}).items():
                        content = response.get("content", {})
                        if code.startswith(("4", "5")) and "application/json" in content:
                            content[PROBLEM] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def _methods_at(request: Request) -> list[str]:
    """Every method some route serves at this path: Starlette's own 405 names only the
    first route that matched the path (RFC 9110 wants them all)."""
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    ]


def install(app: FastAPI) -> None:
    _problem_media_type(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 405:
            allow = ", ".join(_methods_at(request))
            return problem(405, f"this resource answers {allow}", {"Allow": allow})
        if exc.status_code == 400:  # Starlette's answer to a body it cannot decode
            return problem(422, "the request body is not valid JSON", errors=[])
        if exc.status_code == 422:
            return problem(422, str(exc.detail), exc.headers, errors=[])
        return problem(exc.status_code, str(exc.detail), exc.headers)

    @app.exception_handler(Exception)
    async def _unhandled(_request: Request, exc: Exception) -> JSONResponse:
        """A bug or an outage nobody mapped: still problem+json, counted on /metrics by the
        exception's class (never its message, which may quote data). Starlette logs it."""
        app.state.http_metrics.unhandled.labels(type(exc).__name__).inc()
        return problem(500, "the server failed to answer; the error is logged")

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, summary or "invalid request", errors=errors)
