"""A store written before data keys (names and addresses in clear, phones sealed with the
keyring alone) is sealed with each case's key by `mediation migrate`, once, and reads the
same afterwards (DESIGN §9)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.db import session_scope
from models.tables import Case, CaseEvent, Party
from store.sealing import opened_events, opened_parties, seal_legacy
from tests.conftest import TEST_DATA_KEYS, TEST_KEYRING
from tests.helpers import APPLICANT


def legacy_case(engine: Engine) -> str:
    cid, now = str(uuid.uuid4()), datetime.now(UTC)
    with session_scope(engine) as s:
        s.add(
            Case(
                id=cid,
                case_no=f"L{cid[:8]}",
                workflow_id=f"case-{cid}",
                status="closed",
                dispute_type="family",
                channel="walk_in",
                risk_level="green",
                town="三庙镇",
                summary=f"{APPLICANT.name}与邻居因宅基地争执",
                created_at=now,
                updated_at=now,
            )
        )
        s.flush()
        s.add(
            Party(
                case_id=cid,
                position=0,
                role="applicant",
                name=APPLICANT.name,
                phone=TEST_KEYRING.seal(APPLICANT.phone) or "",
                address="三庙镇七间社区",
            )
        )
        s.add(
            CaseEvent(
                case_id=cid,
                seq=1,
                kind="session",
                status="in_mediation",
                actor_id="p-1",
                detail={"summary": "双方到场", "attendees": [APPLICANT.name], "number": 1},
                occurred_at=now,
            )
        )
    return cid


def test_migrate_seals_what_older_releases_stored_in_clear(engine: Engine) -> None:
    cid = legacy_case(engine)
    assert seal_legacy(engine, TEST_DATA_KEYS) >= 1
    assert seal_legacy(engine, TEST_DATA_KEYS) == 0  # once
    with Session(engine) as s:
        row = s.exec(select(Party).where(Party.case_id == cid)).one()
        case = s.get(Case, cid)
        event = s.exec(select(CaseEvent).where(CaseEvent.case_id == cid)).one()
        assert all(v.startswith("sealed:") for v in (row.name, row.phone, row.address or ""))
        assert case is not None and case.summary.startswith("sealed:")
        assert event.detail["attendees"].startswith("sealed:") and event.detail["number"] == 1
        (party,) = opened_parties(s, TEST_DATA_KEYS, cid)
        (opened,) = opened_events(s, TEST_DATA_KEYS, cid)
    assert (party.name, party.phone, party.address) == (
        APPLICANT.name,
        APPLICANT.phone,
        "三庙镇七间社区",
    )
    assert opened.detail == {"summary": "双方到场", "attendees": [APPLICANT.name], "number": 1}
