"""Reports in the case store (R13): the triage workflow's steps written idempotently, the
reporter's lookup code, and the reads of the API.

A step writes, in one transaction, the report's row (only if the step is newer than what
the row holds) and its outbox rows (UNIQUE dedupe key), so a retried or replayed activity
never duplicates or regresses anything. The reporter's name and phone and the summary are
sealed with the report's own data key (subject `report-<report_no>`), bound to table,
column and report. An emergency's alerts go into the outbox under the report's subject in
`notifications.case_id` (migration 0011 lets that column name a report).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session

from core.db import insert_ignore, session_scope
from core.envelope import CaseSeal, DataKeys, Erased
from core.redact import remember_names
from models.report import (
    Reporter,
    ReportFacts,
    ReportIntake,
    ReportState,
    ReportStepRecord,
    report_workflow_id,
)
from models.tables import Notification, Report

TABLE = "reports"
CODE_LENGTH = 12  # base32: 60 bits, typed by a person from an SMS or a screen
_CODE_LABEL = b"report-lookup-code|"
# Compared against when a report is unknown, so an unknown number costs what a wrong code
# does.
_NO_SUCH_HASH = "0" * 64


def report_seal(keys: DataKeys, subject: str, session: Session, create: bool = False) -> CaseSeal:
    """What seals and opens one report's fields; after erasure it opens to TOMBSTONE."""
    try:
        return CaseSeal(subject, keys.key(subject, session, create=create))
    except Erased:
        return CaseSeal(subject, None)


# --- the lookup code ------------------------------------------------------------------------


def lookup_code(keys: DataKeys, report_no: str) -> str:
    """The reporter's code: a keyed hash of the number under the report's own random data
    key (made here if it is not yet). As unguessable as a random code, yet a retried
    submission (same Idempotency-Key) is shown the same code; the store keeps only its hash,
    and erasing the report's key makes it unrecoverable."""
    key = keys.key(report_workflow_id(report_no), create=True)
    mac = hmac.new(key, _CODE_LABEL + report_no.encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode()[:CODE_LENGTH]


def normalised(code: str) -> str:
    """As people type it: any case, spaces or hyphens between the groups."""
    return "".join(code.split()).replace("-", "").upper()


def code_hash(report_no: str, code: str) -> str:
    return hashlib.sha256(f"{report_no}|{normalised(code)}".encode()).hexdigest()


def report_with_code(session: Session, report_no: str, code: str | None) -> Report | None:
    """The report if the code opens it; None for an unknown number or a wrong or missing
    code alike."""
    row = session.get(Report, report_no)
    expected = row.code_hash if row is not None else _NO_SUCH_HASH
    given = code_hash(report_no, code or "")
    if not hmac.compare_digest(expected, given) or row is None or not code:
        return None
    return row


# --- reads ----------------------------------------------------------------------------------


def load_report(session: Session, report_no: str) -> Report | None:
    return session.get(Report, report_no)


def opened_facts(session: Session, keys: DataKeys, row: Report) -> ReportFacts:
    """What the reporter said, opened (to resume a closed report's workflow)."""
    seal = report_seal(keys, row.workflow_id, session)

    def opened(column: str) -> str:
        return seal.open(TABLE, column, row.report_no, getattr(row, column)) or ""

    return ReportFacts.model_validate(
        {
            "channel": row.channel,
            "summary": opened("summary"),
            "town": row.town,
            "community": row.community,
            "reporter": Reporter(name=opened("reporter_name"), phone=opened("reporter_phone")),
        }
    )


# --- the workflow's steps -------------------------------------------------------------------


def _columns(state: ReportState) -> dict[str, Any]:
    return {
        "kind": state.kind.value,
        "status": state.status.value,
        "department": state.department,
        "case_id": state.case_id,
        "case_no": state.case_no,
        "alerts": state.alerts,
        "last_seq": state.seq,
        "state": state.model_dump(mode="json"),
        "updated_at": state.updated_at,
        "closed_at": state.closed_at,
        "acknowledged_at": state.acknowledged_at,
    }


class ReportStore:
    def __init__(self, engine: Engine, keys: DataKeys) -> None:
        self.engine = engine
        self.keys = keys

    def record_step(self, record: ReportStepRecord) -> bool:
        """Write one step; False when it had been written before (a retry or a replay)."""
        state = record.state
        with session_scope(self.engine) as session:
            if record.intake is not None:
                self._create(session, record.intake, state)
            table: Any = Report.__table__  # type: ignore[attr-defined]
            written = (
                session.execute(
                    update(table)
                    .where(table.c.report_no == state.report_no, table.c.last_seq < record.seq)
                    .values(**_columns(state))
                    .returning(table.c.report_no)
                ).first()
                is not None
            )
            for n in record.notifications:
                audience = n.audience
                insert_ignore(
                    session,
                    Notification,
                    {
                        "case_id": state.workflow_id,
                        "seq": record.seq,
                        "kind": n.kind.value,
                        "audience": audience,
                        "dedupe_key": f"{state.workflow_id}:{record.seq}:{n.kind.value}:{audience}",
                        "detail": n.detail,
                        "created_at": record.occurred_at,
                    },
                    ["dedupe_key"],
                )
        return written

    def _create(self, session: Session, intake: ReportIntake, state: ReportState) -> None:
        facts = intake.facts
        remember_names([facts.reporter.name])  # masked in this process's log lines
        seal = report_seal(self.keys, state.workflow_id, session, create=True)

        def sealed(column: str, value: str) -> str:
            return seal.seal(TABLE, column, state.report_no, value) or ""

        insert_ignore(
            session,
            Report,
            {
                "report_no": state.report_no,
                "workflow_id": state.workflow_id,
                "channel": state.channel.value,
                "town": state.town,
                "community": state.community,
                "code_hash": intake.code_hash,
                "reporter_name": sealed("reporter_name", facts.reporter.name),
                "reporter_phone": sealed("reporter_phone", facts.reporter.phone),
                "summary": sealed("summary", facts.summary),
                "policy": intake.policy.model_dump(mode="json"),
                "created_at": state.created_at,
                **_columns(state),
                "last_seq": 0,
            },
            ["report_no"],
        )
