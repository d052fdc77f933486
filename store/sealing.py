"""Which fields of the case store are personal, and how each is sealed and opened with the
case's data key (core/envelope.py; DESIGN §9). Every writer and reader of those fields goes
through here, so the place a value is bound to (case, table, column, row) is named once.

Personal: the parties' name, phone, ID number and address; the case's summary; the free
text of each timeline step (who attended, what was said and agreed, why) and the phrases
the risk screen matched; the agreement's terms in the case's snapshot. Everything a list
filters on or statistics count stays clear.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from core.crypto import FIELD_PREFIX as LEGACY_PREFIX
from core.db import session_scope
from core.envelope import FIELD_PREFIX, TOMBSTONE, CaseSeal, DataKeys
from models.tables import Case, CaseEvent, Party

PARTY_FIELDS = ("name", "phone", "id_number", "address")

# What people wrote into a step: free text that can name the parties; and the risk screen's
# matches, which repeat the summary's own words (跳楼, 拿刀): its category codes stay clear.
FREE_TEXT_DETAIL = frozenset(
    {
        "matches",
        "negated",
        "summary",
        "attendees",
        "terms",
        "notes",
        "note",
        "reason",
        "facts",
        "points_in_dispute",
        "undertakings",
        "performance_manner",
    }
)


def seal_party(seal: CaseSeal, position: int, fields: dict[str, Any]) -> dict[str, Any]:
    return {
        k: seal.seal("parties", k, position, v) if k in PARTY_FIELDS else v
        for k, v in fields.items()
    }


def open_party(seal: CaseSeal, row: Party) -> dict[str, Any]:
    """The party's personal fields in clear (TOMBSTONE after erasure)."""
    return {k: seal.open("parties", k, row.position, getattr(row, k)) for k in PARTY_FIELDS}


def seal_summary(seal: CaseSeal, summary: str) -> str:
    return seal.seal("cases", "summary", seal.case_id, summary) or ""


def open_summary(seal: CaseSeal, case: Case) -> str:
    return seal.open("cases", "summary", case.id, case.summary) or ""


def seal_detail(seal: CaseSeal, seq: int, detail: dict[str, Any]) -> dict[str, Any]:
    return seal.seal_keys("case_events", seq, detail, FREE_TEXT_DETAIL)


def open_detail(seal: CaseSeal, event: CaseEvent) -> dict[str, Any]:
    return seal.open_keys("case_events", event.seq, event.detail, FREE_TEXT_DETAIL)


def seal_state(seal: CaseSeal, state: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with the agreement's terms sealed (nothing reads them back from it: the
    timeline's agreement step is where the documents find them)."""
    agreement = state.get("agreement")
    if (
        not agreement
        or not isinstance(agreement.get("terms"), str)
        or _is_sealed(agreement["terms"])
    ):
        return state
    terms = seal.seal("cases", "state.agreement.terms", seal.case_id, agreement["terms"])
    return {**state, "agreement": {**agreement, "terms": terms}}


def opened_events(session: Session, keys: DataKeys, case_id: str) -> list[CaseEvent]:
    """The case's timeline in order, free text opened (detached copies: nothing is written)."""
    seal = keys.sealer(case_id, session)
    rows = session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
    ).all()
    return [r.model_copy(update={"detail": open_detail(seal, r)}) for r in rows]


def opened_parties(session: Session, keys: DataKeys, case_id: str) -> list[Party]:
    seal = keys.sealer(case_id, session)
    rows = session.exec(
        select(Party).where(Party.case_id == case_id).order_by(col(Party.position))
    ).all()
    return [r.model_copy(update=open_party(seal, r)) for r in rows]


# --- rows written before data keys --------------------------------------------------------


def _is_sealed(value: Any) -> bool:
    return isinstance(value, str) and (value.startswith(FIELD_PREFIX) or value == TOMBSTONE)


def seal_legacy(engine: Engine, keys: DataKeys, batch: int = 200) -> int:
    """Seal, with each case's data key, the personal fields written in clear (or with the
    keyring alone) before data keys existed. Run by `mediation migrate`; idempotent, and
    cheap when there is nothing left to do. Returns how many cases it changed."""
    changed, after = 0, ""
    while True:
        with session_scope(engine) as s:
            cases = s.exec(
                select(Case)
                .where(col(Case.id) > after, col(Case.erased_at).is_(None))
                .order_by(col(Case.id))
                .limit(batch)
            ).all()
            for case in cases:
                changed += _seal_case_legacy(s, keys, case)
        if not cases:
            return changed
        after = cases[-1].id


def _seal_case_legacy(s: Session, keys: DataKeys, case: Case) -> int:
    parties = s.exec(select(Party).where(Party.case_id == case.id)).all()
    events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    stale = (
        not _is_sealed(case.summary)
        or any(
            getattr(p, k) is not None and not _is_sealed(getattr(p, k))
            for p in parties
            for k in PARTY_FIELDS
        )
        or any(
            not _is_sealed(v) for e in events for k, v in e.detail.items() if k in FREE_TEXT_DETAIL
        )
    )
    if not stale:
        return 0
    seal = keys.sealer(case.id, s, create=True)
    if not _is_sealed(case.summary):
        case.summary = seal_summary(seal, case.summary)
    case.state = seal_state(seal, case.state)
    s.add(case)
    for p in parties:
        for k in PARTY_FIELDS:
            value = getattr(p, k)
            if value is not None and not _is_sealed(value):
                clear = keys.keyring.open(value) if value.startswith(LEGACY_PREFIX) else value
                setattr(p, k, seal.seal("parties", k, p.position, clear))
        s.add(p)
    for e in events:
        clear_detail = {
            k: v for k, v in e.detail.items() if k not in FREE_TEXT_DETAIL or not _is_sealed(v)
        }
        e.detail = {**e.detail, **seal_detail(seal, e.seq, clear_detail)}
        s.add(e)
    return 1
