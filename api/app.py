"""The case-officer API (DESIGN §6): FastAPI, OpenAPI at /docs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from api import audit, codec, docs, limits, metrics, problems
from api.deps import Runtime
from api.routes import (
    actions,
    admin_principals,
    admin_roster,
    cases,
    documents,
    erasure,
    health,
    history,
    public_reports,
    roster,
    stats,
)
from core.db import checkpointing, make_engine
from core.envelope import DataKeys
from core.settings import Settings, get_settings
from core.temporal import connect, free_loopback_port, keys_of, metrics_url
from models.policy import load_policy


def create_app(settings: Settings | None = None, client: Client | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """The composition root of the API process: everything is made here, once."""
        engine = make_engine(settings.db_url)
        keys = keys_of(client) or DataKeys(settings.keyring(), engine)
        # An injected client brings its own SDK runtime; the setting then only says where
        # its metrics are. Otherwise the API's own client serves them on a loopback port.
        bind = settings.sdk_metrics_bind or (
            None if client else f"127.0.0.1:{free_loopback_port()}"
        )
        # Lazy: the API starts (and /readyz says why it is not ready) while Temporal is down.
        temporal = client or await connect(settings, keys, bind, lazy=True)
        app.state.runtime = Runtime(
            settings=settings,
            engine=engine,
            keys=keys,
            client=temporal,
            policy=load_policy(settings.policy_file),
            sdk_metrics_url=metrics_url(bind) if bind else None,
        )
        async with checkpointing(engine):
            yield
        engine.dispose()

    app = FastAPI(
        title="Dispute-mediation case API",
        version="1.0.0",
        description="Intake, routing, mediation and follow-up of civil dispute cases.",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves /docs and /redoc from vendored assets
        redoc_url=None,
    )
    problems.install(app)
    limits.install(app)
    audit.install(app)
    metrics.install(app)
    codec.install(app, settings.temporal_ui_origins or [])
    docs.install(app)
    app.include_router(codec.router)
    app.include_router(metrics.router)
    app.include_router(health.router)
    app.include_router(roster.router)
    app.include_router(cases.router)
    app.include_router(history.router)
    app.include_router(actions.router)
    app.include_router(stats.router)
    app.include_router(public_reports.router)  # after stats: /reports/monthly is theirs
    app.include_router(documents.router)
    app.include_router(erasure.router)
    app.include_router(admin_principals.router)
    app.include_router(admin_roster.router)
    return app
