"""`/metrics` for Prometheus: the API's request counts and latencies, followed by the
Temporal SDK's own metrics (served by the SDK runtime on a loopback port and relayed here).

Labels hold the route template (`/api/v1/cases/{case_id}`), never a concrete path: ids would
explode the series count, and a path segment is no place for anything personal either.
"""

from __future__ import annotations

import time

import httpx
from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import RuntimeDep
from models.tables import Notification

router = APIRouter(tags=["health"])


class HttpMetrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mediation_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mediation_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
        )
        self.dead_letters = Gauge(
            "mediation_outbox_dead_letters",
            "Notifications given up (refused, or out of attempts), as the case store has them.",
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "mediation_outbox_pending",
            "Notifications not yet delivered and not given up (risk alerts are never given up).",
            registry=self.registry,
        )
        self.unhandled = Counter(
            "mediation_http_unhandled_errors",
            "Requests that failed with an error no route handles (answered 500), by its type.",
            ["type"],
            registry=self.registry,
        )


def install(app: FastAPI) -> None:
    metrics = HttpMetrics()
    app.state.http_metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)


class MetricsMiddleware:
    """Plain ASGI, as the audit's (api/audit.py): counts and times every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless an answer starts

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            route = route_label(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def route_label(scope: Scope) -> str:
    """The template of the route that answered: a route's own; for a mount (the docs'
    assets, api/docs.py) its prefix and `/{path}`, every file one series; else (unmatched).

    FastAPI's router names the route in the scope for its own routes only, not for a mount:
    a mount's child scope says where it is mounted, in root_path past app_root_path."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    app_root = scope.get("app_root_path")
    root = scope.get("root_path", "")
    if isinstance(app_root, str) and isinstance(root, str) and root.startswith(app_root):
        if mount := root[len(app_root) :]:
            return f"{mount}/{{path}}"
    return "(unmatched)"


def _outbox_counts(session: Session) -> tuple[int, int]:
    sent, dead = col(Notification.sent_at), col(Notification.dead_at)
    counted = select(func.count()).select_from(Notification)
    return (
        session.exec(counted.where(dead.is_not(None))).one(),
        session.exec(counted.where(sent.is_(None), dead.is_(None))).one(),
    )


async def _sdk_metrics(url: str | None) -> bytes:
    if url is None:
        return b""
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            r = await client.get(url)
        r.raise_for_status()
        return r.content
    except httpx.HTTPError as exc:
        # Still a valid exposition: the API's own series plus a note of what is missing.
        return f"# Temporal SDK metrics unavailable: {type(exc).__name__}\n".encode()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, rt: RuntimeDep) -> Response:
    http_metrics: HttpMetrics = request.app.state.http_metrics
    try:  # the outbox, read from the store: every worker's dispatcher writes there
        dead, pending = await rt.db(_outbox_counts)
        http_metrics.dead_letters.set(dead)
        http_metrics.outbox_pending.set(pending)
    except SQLAlchemyError:
        pass  # the store is away: /readyz says so; the other series still answer
    own = generate_latest(http_metrics.registry)
    return Response(own + await _sdk_metrics(rt.sdk_metrics_url), media_type=CONTENT_TYPE_LATEST)
