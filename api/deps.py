"""What routes depend on: settings, the engine, the Temporal client and the principal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, TypeVar

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from temporalio.client import Client

from core.db import session_scope
from core.envelope import DataKeys
from core.settings import Settings
from models.enums import Role
from models.policy import Policy
from models.tables import ApiPrincipal
from store.principals import hash_token, principal_for_token

T = TypeVar("T")


@dataclass(frozen=True)
class Principal:
    id: str
    name: str
    role: Role
    org_id: str | None
    mediator_id: str | None


class PrincipalCache:
    """Who a bearer token is, remembered for a few seconds: every request authenticates,
    and the lookup was a query each time (6 % of the API's CPU under load, py-spy).
    Only found principals are kept, by the token's hash, with when the token expires: that
    is checked on every use, so an expired token is refused at the second it ends. A
    revocation or rotation through this process's API forgets the principal at once
    (`forget`); one made elsewhere (another API replica, `mediation principals revoke`)
    takes effect here within `ttl` seconds (DESIGN §9, README)."""

    def __init__(self, ttl: float = 10.0, size: int = 10_000) -> None:
        self.ttl, self.size = ttl, size
        self._seen: dict[str, tuple[float, datetime, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        hit = self._seen.get(key)
        if hit is None or hit[0] < time.monotonic() or hit[1] <= datetime.now(UTC):
            return None
        return hit[2]

    def put(self, key: str, principal: Principal, expires_at: datetime) -> None:
        if len(self._seen) >= self.size:
            self._seen.clear()
        self._seen[key] = (time.monotonic() + self.ttl, expires_at, principal)

    def forget(self, principal_id: str) -> None:
        """Drop every token of the principal (a rotated one has an old and a new)."""
        for key, hit in list(self._seen.items()):  # a copy: requests put() meanwhile
            if hit[2].id == principal_id:
                self._seen.pop(key, None)


@dataclass(frozen=True)
class Runtime:
    """Process-wide resources, wired once by the app's lifespan (api/app.py)."""

    settings: Settings
    engine: Engine
    keys: DataKeys  # the cases' data keys: the store's sealed fields, the client's codec
    client: Client
    policy: Policy  # snapshotted into every new case
    sdk_metrics_url: str | None  # where the client's SDK metrics are, relayed on /metrics
    principals: PrincipalCache = field(default_factory=PrincipalCache)

    async def db(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` with a short-lived session on a worker thread.

        Async routes use this rather than a request-long session: a session held across an
        await pins a pooled connection, and a blocking pool wait on the event loop stalls
        every request (seen with 20 concurrent intakes)."""

        def run() -> T:
            with session_scope(self.engine) as session:
                return fn(session)

        return await asyncio.to_thread(run)


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def db_session(rt: Annotated[Runtime, Depends(runtime)]) -> Iterator[Session]:
    with session_scope(rt.engine) as session:
        yield session


_bearer = HTTPBearer(auto_error=False)


def principal_of(row: ApiPrincipal) -> Principal:
    return Principal(row.id, row.name, Role(row.role), row.org_id, row.mediator_id)


def is_https(request: Request) -> bool:
    """Served over https: directly, or behind a proxy uvicorn trusts (its --proxy-headers
    and --forwarded-allow-ips turn X-Forwarded-Proto into the request's scheme). Decides
    `Secure` on the console's and the codec's cookies."""
    return request.url.scheme == "https"


def principal_from_token(rt: Runtime, request: Request, token: str) -> Principal:
    key = hash_token(token)
    principal = rt.principals.get(key)
    if principal is None:
        row = principal_for_token(rt.engine, token)
        if row is None:  # unknown, revoked or expired: the same answer for all three
            raise HTTPException(401, "the bearer token is not valid")
        principal = principal_of(row)
        rt.principals.put(key, principal, row.expires_at)
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
