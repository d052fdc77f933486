"""Console sign-in (DESIGN §9–§10): a principal's token is exchanged once for a session of
its own — a random id in an HttpOnly, SameSite=Lax cookie (`Secure` over https) that expires
— and every form carries the session's CSRF secret. Only the id's digest is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete
from sqlmodel import Session, col, select

from api.deps import Principal
from models.enums import Role
from models.tables import ApiPrincipal, ConsoleSession

COOKIE = "mediation_session"
SIGNIN_CSRF_COOKIE = "mediation_signin_csrf"  # double-submit token of the sign-in form
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Signed:
    principal: Principal
    csrf: str


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(s: Session, principal_id: str, ttl: timedelta) -> tuple[str, datetime]:
    """A new session for the principal: its id (for the cookie, never stored) and its end.
    Expired sessions are swept out on the way."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    s.exec(delete(ConsoleSession).where(col(ConsoleSession.expires_at) < now))  # type: ignore[call-overload]
    s.add(
        ConsoleSession(
            id_digest=_digest(session_id),
            principal_id=principal_id,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return session_id, now + ttl


def signed_in(s: Session, session_id: str | None) -> Signed | None:
    """Who holds this session, if it is live and its principal still active."""
    if not session_id:
        return None
    row = s.exec(
        select(ConsoleSession, ApiPrincipal)
        .join(ApiPrincipal, col(ApiPrincipal.id) == ConsoleSession.principal_id)
        .where(ConsoleSession.id_digest == _digest(session_id), col(ApiPrincipal.active))
    ).first()
    if row is None:
        return None
    session, p = row
    if session.expires_at <= datetime.now(UTC):
        return None
    return Signed(Principal(p.id, p.name, Role(p.role), p.org_id, p.mediator_id), session.csrf)


def close_session(s: Session, session_id: str | None) -> None:
    if session_id:
        digest = col(ConsoleSession.id_digest) == _digest(session_id)
        s.exec(delete(ConsoleSession).where(digest))  # type: ignore[call-overload]


def is_https(request: Request) -> bool:
    """Served over https: directly, or behind a proxy uvicorn trusts (its --proxy-headers
    and --forwarded-allow-ips turn X-Forwarded-Proto into the request's scheme)."""
    return request.url.scheme == "https"


def set_cookie(
    request: Request, response: Response, name: str, value: str, expires: datetime | None
) -> None:
    """Every console cookie: HttpOnly, SameSite=Lax, Secure over https, path /."""
    response.set_cookie(
        name,
        value,
        expires=expires,
        httponly=True,
        samesite="lax",
        secure=is_https(request),
        path="/",
    )


def same_secret(sent: object, expected: str | None) -> bool:
    return (
        isinstance(sent, str)
        and bool(expected)
        and hmac.compare_digest(sent.encode(), (expected or "").encode())
    )
