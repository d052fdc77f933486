"""Envelope encryption (DESIGN §9): every case has a data key of its own, kept in the case
store wrapped by the keyring. Temporal payloads of the case's workflow and the personal
fields of its rows are sealed with that key; destroying it (erasure) leaves nothing of the
case readable anywhere, histories included, while every other case stays as it was.

- A data key: 32 random bytes, one per *subject*: the workflow id of a case (`case-<id>`)
  or of a public report's triage (`report-<no>`).
  Wrapped by the keyring's active key, with the subject as associated data; rotating the
  keyring rewraps data keys (`DataKeys.rewrap`), never the data they sealed.
- A payload: `binary/encrypted` naming its subject; the subject is the associated data, so
  a payload moved into another case's history does not open. Payloads of workflows that
  are not cases (the retention job, the benchmark's bare workflow) are sealed with the
  keyring itself. A payload that is not sealed at all is refused (`Unsealed`), so a command
  forged into Temporal without the keys fails instead of running.
- A field: `sealed:<base64>`, with case, table, column and row as associated data (a value
  copied to another party, column or case does not open). A plain value where a sealed one
  belongs is refused; after erasure every personal field holds `TOMBSTONE`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from core.crypto import ENCODING, KEY_ID, Keyring, KeyringError
from core.db import insert_ignore, session_scope
from models.tables import DataKey, utcnow

SUBJECT = "encryption-subject"  # payload metadata: whose data key sealed it
CASE_PREFIX = "case-"
# Workflows whose payloads hold personal data, each id a subject with a data key of its own.
SUBJECT_PREFIXES = (CASE_PREFIX, "report-")
FIELD_PREFIX = "sealed:"
TOMBSTONE = "[erased]"
UNSEALED = b"binary/unsealed"  # what a payload without our envelope decodes to: refused


class Erased(KeyringError):
    """The subject's data key was destroyed: its data can no longer be read."""


class SealError(ValueError):
    """A sealed field that does not open where it is read, or a plain value in its place."""


def case_subject(case_id: str) -> str:
    return CASE_PREFIX + case_id


def subject_of(workflow_id: str | None) -> str | None:
    """The subject with a data key of its own for this workflow id, or None (keyring)."""
    return workflow_id if workflow_id and workflow_id.startswith(SUBJECT_PREFIXES) else None


def _wrap_aad(subject: str, kid: str) -> bytes:
    return f"data-key|{subject}|{kid}".encode()


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    return AESGCM(key).decrypt(blob[:12], blob[12:], aad)


class DataKeys:
    """The data keys in the case store, unwrapped on first use and cached for `ttl`
    seconds (so an erasure done by another process is honoured within that bound; the one
    that erases forgets the key at once). Thread-safe: activities, the API's database
    threads and the codec share one."""

    def __init__(
        self, keyring: Keyring, engine: Engine | None = None, ttl: float = 60.0, size: int = 20_000
    ) -> None:
        self.keyring, self.engine, self.ttl, self.size = keyring, engine, ttl, size
        self._cache: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def use(self, engine: Engine) -> None:
        """Keep keys in this store from now on (the test suite's one client, whose modules
        each have a store of their own)."""
        self.engine = engine

    def _cached(self, subject: str) -> bytes | None:
        with self._lock:
            hit = self._cache.get(subject)
            if hit is None or time.monotonic() - hit[0] > self.ttl:
                return None
            self._cache.move_to_end(subject)
            return hit[1]

    def _remember(self, subject: str, key: bytes) -> None:
        with self._lock:
            self._cache[subject] = (time.monotonic(), key)
            self._cache.move_to_end(subject)
            while len(self._cache) > self.size:
                self._cache.popitem(last=False)

    def forget(self, subject: str) -> None:
        with self._lock:
            self._cache.pop(subject, None)

    def key(self, subject: str, session: Session | None = None, create: bool = False) -> bytes:
        """The subject's data key; made (once, whoever asks first) when `create`. Raises
        `Erased` when it was destroyed, KeyringError when there is none (and not `create`)."""
        cached = self._cached(subject)
        if cached is not None:
            return cached
        if session is None:
            if self.engine is None:
                raise KeyringError("no case store to keep data keys in")
            with session_scope(self.engine) as s:
                return self.key(subject, s, create)
        row = session.get(DataKey, subject)
        if row is None and create:
            wrapped = self._wrap(subject, secrets.token_bytes(32))
            insert_ignore(
                session, DataKey, {"subject": subject, "wrapped": wrapped, "created_at": utcnow()}
            )
            session.flush()
            row = session.get(DataKey, subject, populate_existing=True)
        if row is None:
            raise KeyringError("no data key for this case")
        if row.wrapped is None:
            raise Erased("this case's personal data was erased")
        key = self._unwrap(subject, row.wrapped)
        self._remember(subject, key)
        return key

    async def key_async(self, subject: str, create: bool = False) -> bytes:
        """`key` for the event loop (the codec): from the cache, else on a thread."""
        cached = self._cached(subject)
        if cached is not None:
            return cached
        return await asyncio.to_thread(self.key, subject, None, create)

    def case_key(self, case_id: str, session: Session | None = None, create: bool = False) -> bytes:
        return self.key(case_subject(case_id), session, create)

    def destroy(self, subject: str, session: Session) -> None:
        """Destroy the key for good (the row stays, so it is never made again)."""
        row = session.get(DataKey, subject)
        if row is None:
            session.add(DataKey(subject=subject, wrapped=None, created_at=utcnow()))
        else:
            row.wrapped, row.erased_at = None, utcnow()
            session.add(row)
        self.forget(subject)

    def _wrap(self, subject: str, key: bytes) -> str:
        kid = self.keyring.active
        blob = _seal(self.keyring.keys[kid], key, _wrap_aad(subject, kid))
        return f"{kid}:{base64.b64encode(blob).decode()}"

    def _unwrap(self, subject: str, wrapped: str) -> bytes:
        kid, _, b64 = wrapped.partition(":")
        kek = self.keyring.keys.get(kid)
        if kek is None:
            raise KeyringError(
                f"a data key is wrapped with key {kid!r}, which is not in the keyring "
                f"({self.keyring.describe()}); add it back, or rewrap before removing it"
            )
        try:
            return _open(kek, base64.b64decode(b64), _wrap_aad(subject, kid))
        except InvalidTag:
            raise KeyringError(f"a data key does not open with key {kid!r}") from None

    def rewrap(self, batch: int = 500) -> int:
        """After a keyring rotation: wrap every live data key with the active key, so that
        older keys can leave the ring. The data they seal is not touched. Idempotent."""
        if self.engine is None:
            raise KeyringError("no case store to keep data keys in")
        prefix, changed, after = f"{self.keyring.active}:", 0, ""
        while True:
            with session_scope(self.engine) as s:
                rows = s.exec(
                    select(DataKey)
                    .where(col(DataKey.subject) > after)
                    .order_by(col(DataKey.subject))
                    .limit(batch)
                ).all()
                for row in rows:
                    if row.wrapped and not row.wrapped.startswith(prefix):
                        key = self._unwrap(row.subject, row.wrapped)
                        row.wrapped = self._wrap(row.subject, key)
                        s.add(row)
                        changed += 1
            if not rows:
                return changed
            after = rows[-1].subject

    def sealer(self, case_id: str, session: Session, create: bool = False) -> CaseSeal:
        """What seals and opens the case's fields; after erasure it opens to TOMBSTONE."""
        try:
            return CaseSeal(case_id, self.case_key(case_id, session, create))
        except Erased:
            return CaseSeal(case_id, None)


@dataclass(frozen=True)
class CaseSeal:
    """Seals one case's fields in the store: (table, column, row) names the place a value
    belongs to, and only there does it open."""

    case_id: str
    key: bytes | None  # None: erased

    def _aad(self, table: str, column: str, row: object) -> bytes:
        return f"{self.case_id}|{table}|{column}|{row}".encode()

    def seal(self, table: str, column: str, row: object, value: str | None) -> str | None:
        if value is None:
            return None
        if self.key is None:
            return TOMBSTONE
        blob = _seal(self.key, value.encode(), self._aad(table, column, row))
        return FIELD_PREFIX + base64.b64encode(blob).decode()

    def open(self, table: str, column: str, row: object, value: str | None) -> str | None:
        if value is None or value == TOMBSTONE:
            return value
        if not value.startswith(FIELD_PREFIX):
            raise SealError(f"{table}.{column} holds a value that is not sealed")
        if self.key is None:
            return TOMBSTONE
        try:
            blob = base64.b64decode(value.removeprefix(FIELD_PREFIX))
            return _open(self.key, blob, self._aad(table, column, row)).decode()
        except (InvalidTag, ValueError):
            raise SealError(f"{table}.{column} does not open for this row") from None

    def seal_json(self, table: str, column: str, row: object, value: Any) -> str:
        return self.seal(table, column, row, json.dumps(value, ensure_ascii=False)) or ""

    def open_json(self, table: str, column: str, row: object, value: Any) -> Any:
        text = self.open(table, column, row, value if isinstance(value, str) else None)
        return text if text in (None, TOMBSTONE) else json.loads(text or "null")

    def seal_keys(
        self, table: str, row: object, detail: dict[str, Any], keys: frozenset[str]
    ) -> dict[str, Any]:
        return {
            k: self.seal_json(table, f"detail.{k}", row, v) if k in keys else v
            for k, v in detail.items()
        }

    def open_keys(
        self, table: str, row: object, detail: dict[str, Any], keys: frozenset[str]
    ) -> dict[str, Any]:
        return {
            k: self.open_json(table, f"detail.{k}", row, v) if k in keys else v
            for k, v in detail.items()
        }


# --- Temporal payloads -------------------------------------------------------------------


def _payload_aad(subject: str) -> bytes:
    return f"payload|{subject}".encode()


class EnvelopeCodec(PayloadCodec, WithSerializationContext):
    """Seals payloads with the data key of the workflow they belong to (the SDK hands each
    codec the workflow's id through the serialization context), or with the keyring for
    workflows that are not cases. Decoding needs no context: each payload names its
    subject. Payloads without the envelope decode to `binary/unsealed`, which the payload
    converter refuses (`RefuseUnsealed`, core/payloads.py)."""

    def __init__(self, keys: DataKeys, subject: str | None = None) -> None:
        self.keys, self.subject = keys, subject

    def with_context(self, context: SerializationContext) -> Self:
        workflow_id = None
        if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
            workflow_id = context.workflow_id
        return type(self)(self.keys, subject_of(workflow_id))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self.subject is None:
            return [self._ring_seal(p) for p in payloads]
        key = await self.keys.key_async(self.subject, create=True)
        aad, subject = _payload_aad(self.subject), self.subject.encode()
        return [
            Payload(
                metadata={"encoding": ENCODING, SUBJECT: subject},
                data=_seal(key, p.SerializeToString(), aad),
            )
            for p in payloads
        ]

    def _ring_seal(self, p: Payload) -> Payload:
        kid, blob = self.keys.keyring.encrypt(p.SerializeToString())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=blob)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(Payload(metadata={"encoding": UNSEALED}))
                continue
            inner = Payload()
            subject = p.metadata.get(SUBJECT, b"").decode()
            if subject:
                key = await self.keys.key_async(subject)
                try:
                    inner.ParseFromString(_open(key, p.data, _payload_aad(subject)))
                except InvalidTag:
                    raise KeyringError("a payload does not open with its case's key") from None
            else:  # sealed with the keyring (older histories, workflows that are not cases)
                kid = p.metadata.get(KEY_ID, b"").decode()
                inner.ParseFromString(self.keys.keyring.decrypt(kid, p.data))
            out.append(inner)
        return out
