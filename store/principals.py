"""API principals and the sign-ins made with their tokens (DESIGN §6, §7, §9).

A token is 256 bits of randomness stored only as its SHA-256 hash. It ends: at `expires_at`,
or at once when the principal is revoked; rotating gives the same principal (id, role,
scope) a new token and the old one stops working. The console's and the codec server's
sign-ins are sessions of their own (a random id, only its digest kept) that end with the
principal: a session is live only while its principal's token is.

Nothing here writes a name or a token into an exception message: principal ids only.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import ColumnElement, Engine, and_, delete
from sqlmodel import Session, col, select

from core.db import session_scope
from models.enums import Role
from models.tables import ApiPrincipal, ConsoleSession, Mediator, utcnow
from store.roster import UnknownAssignee, resolve_assignment

TOKEN_PREFIX = "med_"
# A token's lifetime when the caller names none: the `token_days` setting's default
# (core/settings.py), which the API and the CLI pass on.
DEFAULT_TOKEN_DAYS = 90
SessionPurpose = Literal["console", "codec"]


class PrincipalError(ValueError):
    """The request cannot make a valid principal (the API answers 422)."""


class UnknownPrincipal(LookupError):
    """No principal has that id (404)."""


class PrincipalRevoked(ValueError):
    """A revoked principal stays revoked: it cannot be rotated back to life (409)."""


def hash_token(token: str) -> str:
    """The SHA-256 of a secret (a bearer token, a session id): all the store keeps of it."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _lifetime(days: int | None) -> timedelta:
    days = DEFAULT_TOKEN_DAYS if days is None else days
    if days < 1:
        raise PrincipalError("a token lasts at least one day")
    return timedelta(days=days)


def usable_now(now: datetime) -> ColumnElement[bool]:
    """The principals whose tokens work at `now`: active, not revoked, not expired."""
    return and_(
        col(ApiPrincipal.active),
        col(ApiPrincipal.revoked_at).is_(None),
        col(ApiPrincipal.expires_at) > now,
    )


def state_of(p: ApiPrincipal, now: datetime) -> Literal["active", "expired", "revoked"]:
    if p.revoked_at is not None or not p.active:
        return "revoked"
    return "expired" if p.expires_at <= now else "active"


def _scope(session: Session, role: Role, org_id: str | None, mediator_id: str | None) -> str | None:
    """The organisation the principal belongs to; raises PrincipalError when the ids do not
    fit the role. A mediator principal names its mediator (DESIGN §7: a mediator acts on
    their own cases), and its organisation is the mediator's."""
    if role is Role.mediator:
        if mediator_id is None:
            raise PrincipalError("a mediator principal needs its mediator id (--mediator)")
        mediator = session.get(Mediator, mediator_id)
        if mediator is None:
            raise PrincipalError(f"unknown mediator {mediator_id!r}")
        org_id = org_id or mediator.org_id
    elif mediator_id is not None:
        raise PrincipalError("only a mediator principal names a mediator")
    if org_id is not None:
        try:
            resolve_assignment(session, org_id, mediator_id)
        except UnknownAssignee as exc:
            raise PrincipalError(f"{exc} ({org_id!r}, {mediator_id!r})") from None
    return org_id


def create_principal(
    engine: Engine,
    role: Role,
    name: str,
    org_id: str | None = None,
    mediator_id: str | None = None,
    days: int | None = None,
) -> tuple[ApiPrincipal, str]:
    """Store a new principal; returns it with its token (shown once, never stored). The
    token lasts `days` (default: DEFAULT_TOKEN_DAYS)."""
    lifetime = _lifetime(days)
    token = _new_token()
    now = utcnow()
    with session_scope(engine) as session:
        principal = ApiPrincipal(
            id="p-" + uuid.uuid4().hex[:16],
            name=name,
            role=role.value,
            org_id=_scope(session, role, org_id, mediator_id),
            mediator_id=mediator_id,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + lifetime,
        )
        session.add(principal)
    return principal, token


def list_principals(engine: Engine) -> list[ApiPrincipal]:
    with session_scope(engine) as session:
        return list(session.exec(select(ApiPrincipal).order_by(col(ApiPrincipal.created_at))))


def _held(session: Session, principal_id: str) -> ApiPrincipal:
    row = session.get(ApiPrincipal, principal_id, with_for_update=True)
    if row is None:
        raise UnknownPrincipal(principal_id)
    return row


def _end_sessions(session: Session, principal_id: str) -> None:
    session.exec(  # type: ignore[call-overload]
        delete(ConsoleSession).where(col(ConsoleSession.principal_id) == principal_id)
    )


def revoke_principal(engine: Engine, principal_id: str) -> ApiPrincipal:
    """Refuse the principal's token from now on and end its sessions. Revoking twice
    changes nothing."""
    with session_scope(engine) as session:
        row = _held(session, principal_id)
        if row.revoked_at is None:
            row.revoked_at = utcnow()
        row.active = False
        session.add(row)
        _end_sessions(session, principal_id)
    return row


def rotate_principal(
    engine: Engine, principal_id: str, days: int | None = None
) -> tuple[ApiPrincipal, str]:
    """A new token for the same principal (id, role, scope), lasting `days` from now; the
    old token and the sessions opened with it end at once."""
    lifetime = _lifetime(days)
    token = _new_token()
    with session_scope(engine) as session:
        row = _held(session, principal_id)
        if state_of(row, utcnow()) == "revoked":
            raise PrincipalRevoked(principal_id)
        row.token_hash = hash_token(token)
        row.expires_at = utcnow() + lifetime
        session.add(row)
        _end_sessions(session, principal_id)
    return row, token


def principal_for_token(engine: Engine, token: str) -> ApiPrincipal | None:
    """The principal whose token this is, if the token works now."""
    with session_scope(engine) as session:
        return session.exec(
            select(ApiPrincipal).where(
                ApiPrincipal.token_hash == hash_token(token), usable_now(utcnow())
            )
        ).first()


# --- sessions: the console's and the codec server's sign-ins -------------------------------


@dataclass(frozen=True)
class Opened:
    session_id: str  # for the cookie; only its digest is stored
    expires_at: datetime
    csrf: str


def open_session(s: Session, principal_id: str, purpose: SessionPurpose, ttl: timedelta) -> Opened:
    """A new session for the principal, ending after `ttl` or with the principal's token,
    whichever comes first. Expired sessions are swept out on the way."""
    now = utcnow()
    s.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) < now))  # type: ignore[call-overload]
    principal = s.get(ApiPrincipal, principal_id)
    if principal is None:
        raise UnknownPrincipal(principal_id)
    # In UTC proper: PostgreSQL hands back its own UTC zone, which a cookie's date refuses.
    ends = min(now + ttl, principal.expires_at).astimezone(UTC)
    opened = Opened(secrets.token_urlsafe(32), ends, secrets.token_urlsafe(32))
    s.add(
        ConsoleSession(
            id_digest=hash_token(opened.session_id),
            principal_id=principal_id,
            csrf=opened.csrf,
            created_at=now,
            expires_at=opened.expires_at,
            purpose=purpose,
        )
    )
    return opened


def session_holder(
    s: Session, session_id: str | None, purpose: SessionPurpose
) -> tuple[ConsoleSession, ApiPrincipal] | None:
    """The live session with this id and its principal: None when the session has ended
    or its principal's token no longer works (revoked, expired, rotated)."""
    if not session_id:
        return None
    now = utcnow()
    row = s.exec(
        select(ConsoleSession, ApiPrincipal)
        .join(ApiPrincipal, col(ApiPrincipal.id) == ConsoleSession.principal_id)
        .where(
            ConsoleSession.id_digest == hash_token(session_id),
            ConsoleSession.purpose == purpose,
            col(ConsoleSession.expires_at) > now,
            usable_now(now),
        )
    ).first()
    return None if row is None else (row[0], row[1])


def close_session(s: Session, session_id: str | None) -> None:
    if session_id:
        digest = col(ConsoleSession.id_digest) == hash_token(session_id)
        s.exec(delete(ConsoleSession).where(digest))  # type: ignore[call-overload]
