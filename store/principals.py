"""API principals: bearer tokens stored only as SHA-256 hashes (tokens are 256-bit random)."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from sqlalchemy import Engine
from sqlmodel import select

from core.db import session_scope
from models.enums import Role
from models.tables import ApiPrincipal, utcnow
from store.roster import UnknownAssignee, resolve_assignment

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
        if org_id is not None:
            try:
                resolve_assignment(session, org_id, mediator_id)
            except UnknownAssignee as exc:
                raise PrincipalError(f"{exc} ({org_id!r}, {mediator_id!r})") from None
        elif mediator_id is not None:
            raise PrincipalError("a mediator id needs --org")
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
