"""Accounts (DESIGN §6, §7): who holds which role and organisation, for the admin only.

A token is in an answer once, when it is made (creation, rotation); lists show who holds
what and until when, never a token or its hash. Revoking or rotating here takes effect at
once in this process (its principal cache forgets the principal) and within the cache's
few seconds in the others (api/deps.py, README). Audited like every route (api/audit.py):
ids and the status code, never the body.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, StrictInt

from api.access import AdminDep
from api.deps import RuntimeDep
from api.problems import error_responses
from models.case import Strict
from models.enums import Role
from models.tables import ApiPrincipal, utcnow
from store.principals import (
    PrincipalError,
    PrincipalRevoked,
    UnknownPrincipal,
    create_principal,
    list_principals,
    revoke_principal,
    rotate_principal,
    state_of,
)

router = APIRouter(
    prefix="/api/v1/principals", tags=["accounts"], responses=error_responses(401, 403, 422)
)
Days = StrictInt | None


class PrincipalOut(BaseModel):
    id: str
    name: str
    role: Role
    org_id: str | None
    mediator_id: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    state: Literal["active", "expired", "revoked"]

    @classmethod
    def of(cls, row: ApiPrincipal) -> PrincipalOut:
        return cls(
            id=row.id,
            name=row.name,
            role=Role(row.role),
            org_id=row.org_id,
            mediator_id=row.mediator_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            state=state_of(row, utcnow()),
        )


class PrincipalIn(Strict):
    role: Role
    name: str = Field(min_length=1, max_length=100, description="whom the token is for")
    org_id: str | None = Field(
        default=None, max_length=64, description="a mediator's: taken from the mediator if absent"
    )
    mediator_id: str | None = Field(
        default=None, max_length=64, description="required for a mediator; others have none"
    )
    expires_in_days: Days = Field(
        default=None, ge=1, le=3650, description="default: the MEDIATION_TOKEN_DAYS setting"
    )


class RotateIn(Strict):
    expires_in_days: Days = Field(
        default=None, ge=1, le=3650, description="default: the MEDIATION_TOKEN_DAYS setting"
    )


class IssuedToken(BaseModel):
    principal: PrincipalOut
    token: str = Field(description="the bearer token: shown this once, stored only as a hash")


@router.get("", response_model=list[PrincipalOut], summary="every principal, without tokens")
async def principals_list(rt: RuntimeDep, _admin: AdminDep) -> list[PrincipalOut]:
    rows = await asyncio.to_thread(list_principals, rt.engine)
    return [PrincipalOut.of(row) for row in rows]


@router.post("", status_code=201, response_model=IssuedToken, summary="a new principal")
async def principals_create(body: PrincipalIn, rt: RuntimeDep, _admin: AdminDep) -> IssuedToken:
    try:
        row, token = await asyncio.to_thread(
            create_principal,
            rt.engine,
            body.role,
            body.name,
            body.org_id,
            body.mediator_id,
            body.expires_in_days or rt.settings.token_days,
        )
    except PrincipalError as exc:
        raise HTTPException(422, str(exc)) from None
    return IssuedToken(principal=PrincipalOut.of(row), token=token)


@router.post(
    "/{principal_id}/revoke",
    response_model=PrincipalOut,
    responses=error_responses(404),
    summary="refuse the principal's token from now on (revoking again changes nothing)",
)
async def principals_revoke(principal_id: str, rt: RuntimeDep, _admin: AdminDep) -> PrincipalOut:
    try:
        row = await asyncio.to_thread(revoke_principal, rt.engine, principal_id)
    except UnknownPrincipal:
        raise HTTPException(404, "no such principal") from None
    rt.principals.forget(principal_id)
    return PrincipalOut.of(row)


@router.post(
    "/{principal_id}/rotate",
    response_model=IssuedToken,
    responses=error_responses(404, 409),
    summary="a new token for the same principal; the old one stops working",
)
async def principals_rotate(
    principal_id: str, rt: RuntimeDep, _admin: AdminDep, body: RotateIn | None = None
) -> IssuedToken:
    days = (body.expires_in_days if body else None) or rt.settings.token_days
    try:
        row, token = await asyncio.to_thread(rotate_principal, rt.engine, principal_id, days)
    except UnknownPrincipal:
        raise HTTPException(404, "no such principal") from None
    except PrincipalRevoked:
        raise HTTPException(409, "the principal is revoked; create a new one") from None
    rt.principals.forget(principal_id)
    return IssuedToken(principal=PrincipalOut.of(row), token=token)
