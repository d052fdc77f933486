"""Notices with words in them (DESIGN §6): every kind has its Chinese text, short enough for
one SMS where it goes to a party; the outbox renders it at delivery time and sends it to
each party alone, or to the roster's contact for any other audience."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from core.i18n import Translator
from models.enums import DUTY_SUPERVISOR, POLICE_LIAISON, NotificationKind, Outcome
from models.tables import Case, Contact, Mediator, Notification, Party
from notify import senders
from notify.outbox import Dispatcher
from notify.senders import LogSender
from notify.texts import (
    ARBITRATION_BODY,
    PARTY_KINDS,
    PARTY_SMS_LIMIT,
    NoticeContext,
    render,
)
from store.roster import contact_for
from store.sealing import seal_party
from store.seed import DESK_CONTACTS, ORGS, contacts, seed
from tests.conftest import TEST_DATA_KEYS
from tests.helpers import APPLICANT, RESPONDENT

K = NotificationKind
LONGEST_ORG = max((o.name for o in ORGS), key=len)
DETAIL: dict[NotificationKind, dict[str, Any]] = {
    K.arbitration_rights: {"arbitration_limitation_until": "2027-03-01"},
    K.termination_routes: {"outcome": "terminated"},
    K.closure: {"outcome": "terminated"},
}


def context(dispute_type: str = "labor", **kw: Any) -> NoticeContext:
    """The longest words the roster and the case can put in a text."""
    late = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    values: dict[str, Any] = {
        "case_no": "HC20261231-ABCDEF12",
        "dispute_type": dispute_type,
        "town": "合阳城街道",
        "org_name": LONGEST_ORG,
        "mediator_name": "孙海波",
        "acceptance_due": late,
        "mediation_due": late,
        "next_follow_up_due": late,
        "outcome": "referred_department",
        **kw,
    }
    return NoticeContext(**values)


@pytest.mark.parametrize("dispute_type", ["labor", "family", "marriage", "neighbor", "other"])
def test_every_kind_has_words_and_a_party_text_fits_one_sms(dispute_type: str) -> None:
    for kind in NotificationKind:
        for outcome in Outcome:
            detail = {**DETAIL.get(kind, {}), "outcome": outcome.value}
            text = render(kind.value, context(dispute_type, detail=detail))
            assert "HC20261231-ABCDEF12" in text and "{" not in text, (kind, text)
            if kind in PARTY_KINDS:
                assert len(text) <= PARTY_SMS_LIMIT, (kind, outcome, len(text), text)


def test_the_arbitration_notice_names_the_date_and_the_commission() -> None:
    text = render("arbitration_rights", context(detail=DETAIL[K.arbitration_rights]))
    assert "2027年3月1日" in text and ARBITRATION_BODY in text and "申请劳动仲裁" in text
    with pytest.raises(ValueError, match="limitation date"):
        render("arbitration_rights", context(detail={}))


def test_the_termination_notice_names_the_other_routes_and_closure_the_outcome() -> None:
    labor = render("termination_routes", context("labor", detail={"outcome": "terminated"}))
    assert "申请劳动仲裁" in labor and ARBITRATION_BODY in labor and "调解终止" in labor
    family = render("termination_routes", context("family", detail={"outcome": "refused"}))
    assert "向人民法院提起诉讼" in family and "向有关行政部门申请处理" in family
    assert "当事人拒绝调解" in family
    zh = Translator("zh")
    for outcome in Outcome:
        closure = render("closure", context(detail={"outcome": outcome.value}))
        assert f"结果：{zh.enum('outcome', outcome)}" in closure
    assert "调解成功" in render("closure", context(outcome="resolved", detail={}))


def test_a_supervisor_alert_says_why() -> None:
    undelivered = {"undelivered": "closure", "audience": "parties", "error": "HTTP 400"}
    text = render("supervisor_alert", context(detail=undelivered))
    assert "结案通知" in text and "当事人" in text and "未能送达" in text
    stuck = render("supervisor_alert", context(detail={"step_not_recorded": "agreement"}))
    assert "未能写入案件库" in stuck
    assert "需领导处理" in render("supervisor_alert", context(detail={}))


def test_deadlines_read_in_china_time() -> None:
    due = datetime(2026, 1, 5, 17, 0, tzinfo=UTC)  # 6 January, 01:00 in Chongqing
    text = render("assignment", context(acceptance_due=due))
    assert "2026年1月6日01:00" in text
    assert "2026年1月6日" in render("deadline_reminder", context(mediation_due=due))


# --- the outbox, against the real store ----------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(json.loads(json.dumps(message, ensure_ascii=False)))


def labor_case(engine: Engine, notices: list[tuple[NotificationKind, str]]) -> str:
    """A labor case with its two parties (phones and ID numbers sealed, as intake stores
    them) and the given notifications in its outbox."""
    cid = str(uuid.uuid4())
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(
            Case(
                id=cid,
                case_no=f"HC{now:%Y%m%d}-{cid.replace('-', '')[:8].upper()}",
                workflow_id=f"case-{cid}",
                status="closed",
                dispute_type="labor",
                channel="walk_in",
                risk_level="red",
                town="三庙镇",
                org_id="union-labor",
                mediator_id="union-labor-m1",
                outcome="terminated",
                acceptance_due=now + timedelta(hours=2),
                mediation_due=now + timedelta(days=15),
                created_at=now,
                updated_at=now,
            )
        )
        s.flush()
        seal = TEST_DATA_KEYS.sealer(cid, s, create=True)
        for position, party in enumerate((APPLICANT, RESPONDENT)):
            fields = party.model_dump(mode="json", include={"role", "name", "phone", "id_number"})
            s.add(Party(case_id=cid, position=position, **seal_party(seal, position, fields)))
        for seq, (kind, audience) in enumerate(notices, start=1):
            s.add(
                Notification(
                    case_id=cid,
                    seq=seq,
                    kind=kind.value,
                    audience=audience,
                    dedupe_key=f"{cid}:{seq}:{kind.value}:{audience}",
                    detail=DETAIL.get(kind, {}),
                    created_at=now,
                )
            )
        s.commit()
    return cid


def rows(engine: Engine, cid: str) -> list[Notification]:
    with Session(engine) as s:
        return list(s.exec(select(Notification).where(Notification.case_id == cid)))


async def deliver(engine: Engine, cid: str) -> list[dict[str, Any]]:
    recorder = Recorder()
    await Dispatcher(engine, TEST_DATA_KEYS, recorder, batch=500).run_once()
    return [m for m in recorder.sent if m["case_id"] == cid]


async def test_each_party_hears_alone_and_every_kind_reaches_someone(engine: Engine) -> None:
    notices = [
        (K.assignment, "mediator:union-labor-m1"),
        (K.acceptance_reminder, "org:union-labor"),
        (K.risk_alert, POLICE_LIAISON),
        (K.risk_alert, DUTY_SUPERVISOR),
        (K.supervisor_alert, "supervisors"),
        (K.deadline_reminder, "mediator:union-labor-m1"),
        (K.arbitration_rights, "parties"),
        (K.termination_routes, "parties"),
        (K.follow_up_due, "mediator:union-labor-m1"),
        (K.follow_up_overdue, "supervisors"),
        (K.performance_urge, "parties"),
        (K.closure, "parties"),
    ]
    assert {k for k, _ in notices} == set(NotificationKind)
    cid = labor_case(engine, notices)
    sent = await deliver(engine, cid)
    assert all(n.sent_at is not None and n.dead_at is None for n in rows(engine, cid))

    to_parties = [m for m in sent if m["audience"] == "parties"]
    assert len(to_parties) == 2 * 4  # one message per party, for each of four notices
    for m in to_parties:
        own = APPLICANT if m["recipient"]["role"] == "applicant" else RESPONDENT
        other = RESPONDENT if own is APPLICANT else APPLICANT
        assert m["recipient"] == {"role": own.role.value, "phone": own.phone}
        body = json.dumps(m, ensure_ascii=False)
        for secret in (other.phone, other.id_number, own.id_number, own.name, other.name):
            assert secret and secret not in body, m["kind"]
        assert len(m["text"]) <= PARTY_SMS_LIMIT and m["case_no"] in m["text"]
        assert m["dedupe_key"].endswith(f"#{0 if own is APPLICANT else 1}")
    arbitration = [m for m in to_parties if m["kind"] == "arbitration_rights"]
    assert len(arbitration) == 2 and all("2027年3月1日" in m["text"] for m in arbitration)
    closure = [m for m in to_parties if m["kind"] == "closure"]
    assert all("调解终止" in m["text"] for m in closure)

    seeded = {audience: phone for audience, _, phone in contacts()}
    others = [m for m in sent if m["audience"] != "parties"]
    assert len(others) == len(notices) - 4
    for m in others:
        assert m["recipient"]["phone"] == seeded[m["audience"]], m["audience"]
        assert m["recipient"]["contact"] == m["audience"]
    assignment = next(m for m in others if m["kind"] == "assignment")
    assert "合川区总工会劳动争议人民调解委员会刘振华调解员" in assignment["text"]


async def test_a_risk_alert_reaches_the_police_liaison_the_roster_holds(engine: Engine) -> None:
    seeded = {a: p for a, _, p in DESK_CONTACTS}[POLICE_LIAISON]
    with Session(engine) as s:
        liaison = s.get(Contact, POLICE_LIAISON)
        assert liaison is not None and liaison.phone == seeded
        liaison.phone = "13800001119"  # an admin puts this week's liaison in the roster
        s.add(liaison)
        s.commit()
    try:
        seed(engine)  # seeding again keeps what the admin wrote
        cid = labor_case(engine, [(K.risk_alert, POLICE_LIAISON)])
        (alert,) = await deliver(engine, cid)
        assert alert["recipient"]["phone"] == "13800001119"
        assert alert["recipient"]["name"] == "合川区公安分局驻中心联络民警"
        assert "红色风险" in alert["text"] and alert["case_no"] in alert["text"]
    finally:
        with Session(engine) as s:
            row = s.get(Contact, POLICE_LIAISON)
            assert row is not None
            row.phone = seeded
            s.add(row)
            s.commit()


async def test_an_audience_nobody_answers_for_is_dead_lettered_visibly(engine: Engine) -> None:
    cid = labor_case(engine, [(K.assignment, "org:no-such-org")])
    assert await deliver(engine, cid) == []
    (row,) = [n for n in rows(engine, cid) if "undelivered" not in n.detail]
    assert row.dead_at is not None and row.last_error == "NoRecipient"
    alerts = [n for n in rows(engine, cid) if "undelivered" in n.detail]
    assert [(n.kind, n.audience) for n in alerts] == [("supervisor_alert", DUTY_SUPERVISOR)]


def test_a_mediator_without_a_number_is_reached_through_the_organisation(
    engine: Engine,
) -> None:
    with Session(engine) as s:
        s.merge(Mediator(id="union-labor-m99", org_id="union-labor", name="新调解员"))
        s.commit()
        own = contact_for(s, "mediator:union-labor-m1")
        via_org = contact_for(s, "mediator:union-labor-m99")
        assert own is not None and own.audience == "mediator:union-labor-m1"
        assert via_org is not None and via_org.audience == "org:union-labor"
        assert contact_for(s, "org:no-such-org") is None
        assert {c.audience for c in s.exec(select(Contact))} >= {a for a, _, _ in contacts()}


async def test_the_log_sender_logs_no_phone_name_or_text(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = labor_case(engine, [(K.closure, "parties"), (K.risk_alert, POLICE_LIAISON)])
    messages = await deliver(engine, cid)
    lines: list[dict[str, Any]] = []

    class Log:
        def info(self, event: str, **fields: Any) -> None:
            lines.append({"event": event, **fields})

    monkeypatch.setattr(senders, "log", Log())
    for m in messages:
        await LogSender().send(m)
    assert len(lines) == 3
    assert sorted(line["to"] for line in lines) == ["applicant", POLICE_LIAISON, "respondent"]
    logged = json.dumps(lines, ensure_ascii=False)
    for m in messages:
        for secret in (m["recipient"]["phone"], m["recipient"].get("name"), m["text"]):
            assert secret is None or secret not in logged
