"""What routes depend on: settings, the engine, the Temporal client and the principal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from core.settings import Settings
from core.temporal import connect, free_loopback_port, metrics_url
from models.enums import Role
from models.policy import load_policy
from store.principals import principal_for_token

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    org_id: str | None
    mediator_id: str | None


class Runtime:
    """Process-wide resources, created once per app."""

    def __init__(self, settings: Settings, engine: Engine, client: Client | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.policy = load_policy(settings.policy_file)  # snapshotted into every new case
        self.keyring = settings.keyring()  # opens the parties' sealed phone and ID numbers
        self._client = client
        self._lock = asyncio.Lock()
        # An injected client brings its own runtime; the setting then only says where its
        # metrics are. Otherwise the API's own client serves them on a loopback port.
        self._metrics_bind = settings.sdk_metrics_bind or (
            None if client else f"127.0.0.1:{free_loopback_port()}"
        )
        self.sdk_metrics_url = metrics_url(self._metrics_bind) if self._metrics_bind else None

    async def client(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    self._client = await connect(self.settings, self._metrics_bind)
        return self._client

    async def db(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` with a short-lived session on a worker thread.

        Async routes use this rather than a request-long session: a session held across an
        await pins a pooled connection, and a blocking pool wait on the event loop stalls
        every request (seen with 20 concurrent intakes)."""

        def run() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return fn(session)

        return await asyncio.to_thread(run)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def db_session(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Session]:
    with Session(rt.engine, expire_on_commit=False) as session:
        yield session


_bearer = HTTPBearer(auto_error=False)


def principal_from_token(rt: Runtime, request: Request, token: str) -> Principal:
    row = principal_for_token(rt.engine, token)
    if row is None:
        raise HTTPException(401, "the bearer token is not valid")
    principal = Principal(row.id, row.name, Role(row.role), row.org_id, row.mediator_id)
    request.state.principal = principal  # for the audit log
    return principal


def current_principal(
    request: Request,
    rt: Annotated[Runtime, Depends(runtime)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required")
    return principal_from_token(rt, request, creds.credentials)


RuntimeDep = Annotated[Runtime, Depends(runtime)]
SessionDep = Annotated[Session, Depends(db_session)]
PrincipalDep = Annotated[Principal, Depends(current_principal)]
