"""API principals: bearer tokens stored only as SHA-256 hashes (tokens are 256-bit random)."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import Engine
from sqlmodel import select

from core.db import session_scope
from models.enums import Role
from models.tables import ApiPrincipal, Mediator, Organization, utcnow

TOKEN_PREFIX = "med_"


class PrincipalError(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_principal(
    engine: Engine, role: Role, name: str, org_id: str | None = None, mediator_id: str | None = None
) -> tuple[ApiPrincipal, str]:
    """Store a new principal; returns it with its token (shown once, never stored)."""
    if role is Role.mediator and org_id is None:
        raise PrincipalError("a mediator needs --org")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        if org_id is not None and session.get(Organization, org_id) is None:
            raise PrincipalError(f"unknown organisation {org_id!r}")
        if mediator_id is not None:
            mediator = session.get(Mediator, mediator_id)
            if mediator is None or mediator.org_id != org_id:
                raise PrincipalError(f"mediator {mediator_id!r} is not in organisation {org_id!r}")
        principal = ApiPrincipal(
            id="p-" + uuid.uuid4().hex[:16],
            name=name,
            role=role.value,
            org_id=org_id,
            mediator_id=mediator_id,
            token_hash=hash_token(token),
            created_at=utcnow(),
        )
        session.add(principal)
    return principal, token


def principal_for_token(engine: Engine, token: str) -> ApiPrincipal | None:
    with session_scope(engine) as session:
        return session.exec(
            select(ApiPrincipal).where(
                ApiPrincipal.token_hash == hash_token(token), ApiPrincipal.active
            )
        ).first()
