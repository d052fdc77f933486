"""Console sign-in (DESIGN §9–§10): a principal's token is exchanged once for a session of
its own — a random id in an HttpOnly, SameSite=Lax cookie (`Secure` over https) that expires
— and every form carries the session's CSRF secret. Only the id's digest is stored."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlmodel import Session

from api.deps import Principal, is_https, principal_of
from store import principals

COOKIE = "mediation_session"
SIGNIN_CSRF_COOKIE = "mediation_signin_csrf"  # double-submit token of the sign-in form
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Signed:
    principal: Principal
    csrf: str


def open_session(s: Session, principal_id: str, ttl: timedelta) -> tuple[str, datetime]:
    """A new console session for the principal: its id (for the cookie, never stored) and
    its end, which is never later than the principal's token's."""
    opened = principals.open_session(s, principal_id, "console", ttl)
    return opened.session_id, opened.expires_at


def signed_in(s: Session, session_id: str | None) -> Signed | None:
    """Who holds this session, if it is live and its principal's token still works (not
    revoked, expired or rotated since): looked up on every request, so a revocation ends
    the console sessions at once, in every process."""
    held = principals.session_holder(s, session_id, "console")
    if held is None:
        return None
    session, p = held
    return Signed(principal_of(p), session.csrf)


def close_session(s: Session, session_id: str | None) -> None:
    principals.close_session(s, session_id)


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
