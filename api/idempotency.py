"""`Idempotency-Key` (DESIGN §6): a key belongs to the principal who sent it and is bound to
the request it first came with.

The same key again with the same route and body is a retry: an intake joins the first
request's case (one case, one workflow, one row), a command becomes the same workflow
Update id (Temporal runs it once) and, once answered, gets the first answer back without
reaching the workflow. The same key with another request is a client's mistake: 422.
Another principal's key is another key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, HTTPException
from pydantic import BaseModel
from sqlalchemy import bindparam, update
from sqlmodel import Session

from core.db import insert_ignore
from models.tables import IdempotencyKey, utcnow

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=200,
        pattern=r"^[!-~]+$",  # visible ASCII: a UUID is the usual choice
        description=(
            "Any string the client chooses for this request (a UUID). Retries with the same "
            "key, by the same principal with the same body, record nothing new and answer "
            "as the first request did; the same key with another request answers 422."
        ),
    ),
]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class Key:
    """A principal's key for one request: what it is stored under, and what it is bound to."""

    digest: str  # of (principal, key): the key as stored, and the seed of case and Update ids
    principal_id: str
    request_hash: str  # of (route, body)

    @classmethod
    def of(cls, principal_id: str, key: str, route: str, body: BaseModel) -> Key:
        return cls(
            digest=_digest(principal_id, key),
            principal_id=principal_id,
            request_hash=_digest(route, body.model_dump_json()),
        )

    @property
    def update_id(self) -> str:
        return f"command-{self.digest[:40]}"


@dataclass(frozen=True)
class Claim:
    first: bool  # this request stored the key: no earlier request carried it
    answer: dict[str, Any] | None  # a command's first answer, once it was given


def claim(session: Session, key: Key, case_id: str) -> Claim:
    """Store the key for this request, or find it stored: the first of any number of
    concurrent requests stores it (the table's primary key decides), the rest see it."""
    first = insert_ignore(
        session,
        IdempotencyKey,
        {
            "key_digest": key.digest,
            "principal_id": key.principal_id,
            "request_hash": key.request_hash,
            "case_id": case_id,
            "created_at": utcnow(),
        },
        ["key_digest"],
    )
    row = session.get(IdempotencyKey, key.digest, populate_existing=True)
    if row is None:  # stored and gone: nothing deletes keys
        raise HTTPException(503, "the idempotency key could not be stored; try again")
    if row.request_hash != key.request_hash or row.case_id != case_id:
        raise HTTPException(
            422, "this Idempotency-Key was already used with another request; use a new key"
        )
    return Claim(first=first, answer=row.answer)


_KEYS: Any = IdempotencyKey.__table__  # type: ignore[attr-defined]
# Built once, its values bound at each command (not rebuilt and its cache key derived anew).
_REMEMBER_ANSWER = (
    update(_KEYS)
    .where(_KEYS.c.key_digest == bindparam("digest"), _KEYS.c.answer.is_(None))
    .values(answer=bindparam("answer", type_=_KEYS.c.answer.type))
)


def remember_answer(session: Session, key: Key, answer: dict[str, Any]) -> None:
    """A command's answer, kept for its retries (the first answer stays)."""
    session.execute(_REMEMBER_ANSWER, {"digest": key.digest, "answer": answer})
