"""RFC 9457 problem details for every error the API returns."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    422: "Invalid request",
    500: "Internal server error",
    503: "Service unavailable",
}


DESCRIPTIONS = {
    401: "no bearer token, or one that is not valid",
    403: "your role may not do this",
    404: "no such case, or outside your scope",
    409: "not possible in the case's current state (the detail says why)",
    422: "the request does not match the contract (the errors say where)",
    503: "a dependency (database or Temporal) is not available; try again",
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


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


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


def install(app: FastAPI) -> None:
    _problem_media_type(app)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # Starlette's answer to a body it cannot decode
            return problem(422, "the request body is not valid JSON", errors=[])
        if exc.status_code == 422:
            return problem(422, str(exc.detail), errors=[])
        return problem(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _field_errors(exc)
        summary = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(422, summary or "invalid request", errors=errors)
