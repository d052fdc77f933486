"""The documents a case produces (DESIGN §6, issue 14): each kind opened as a DOCX and read;
particulars masked for those who see them masked; out of scope is 404; downloads audited."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from docx import Document
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from cases.documents import CaseFile
from models.enums import DisputeType, Role
from models.policy import Policy
from models.tables import AuditLog, Case, CaseEvent, Mediator
from store.principals import create_principal
from tests.api_helpers import (
    agreement_json,
    assignee,
    auth,
    command,
    in_mediation,
    intake_json,
    now_iso,
    post_case,
)
from tests.helpers import APPLICANT, RESPONDENT

DOCS = "/api/v1/cases/{}/documents"


def text_of(body: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(body)).paragraphs)


async def agreed_case(
    http: httpx.AsyncClient, tokens: dict[str, str], dispute_type: DisputeType
) -> dict[str, Any]:
    """A case of `dispute_type` taken in, accepted and agreed in writing by the mediator it
    was routed to; the case."""
    r = await post_case(http, tokens["officer"], intake_json(dispute_type))
    case: dict[str, Any] = r.json()
    mediator = assignee(tokens, case)
    accept = {"mediator_id": case["assignment"]["mediator_id"]}
    r = await command(http, mediator, case["case_id"], "accept", accept)
    assert r.status_code == 200, r.text
    due = (datetime.now(UTC) + timedelta(days=20)).date().isoformat()
    r = await command(
        http, mediator, case["case_id"], "agreement", agreement_json(performance_due=due)
    )
    assert r.status_code == 200, r.text
    return case


async def test_a_written_agreement_states_what_the_law_asks(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    case = await agreed_case(http, tokens, DisputeType.family)
    cid = case["case_id"]
    r = await http.get(DOCS.format(cid), headers=auth(tokens["officer"]))
    assert [d["kind"] for d in r.json()] == ["registration", "agreement", "case_file"]
    r = await http.get(DOCS.format(cid) + "/agreement", headers=auth(tokens["officer"]))
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert "attachment" in r.headers["content-disposition"]
    text = text_of(r.content)
    for expected in (
        "人民调解协议书",
        f"编号：{case['case_no']}",
        f"申请人：{APPLICANT.name}，联系电话：{APPLICANT.phone}",
        f"被申请人：{RESPONDENT.name}",
        "纠纷主要事实：兄弟二人因父母所留老宅的分割发生争执",
        "争议事项：老宅如何分割，补偿款多少",
        "经七间社区五老工作室调解",
        "老宅按份分割",
        "被申请人：支付补偿款两万元",
        "履行方式：一次性银行转账",
        "履行期限：20",  # a date in Chinese: 2026年…月…日
        "一式3份",
        "人民调解员（签名）：",
        "七间社区五老工作室（印章）",
    ):
        assert expected in text, expected

    # A mediator of the studio who is not the one assigned sees the particulars masked.
    with Session(engine) as s:
        other = s.exec(
            select(Mediator.id).where(
                Mediator.org_id == "fe-sanmiao-qijian",
                col(Mediator.id) != case["assignment"]["mediator_id"],
            )
        ).first()
    _p, colleague = create_principal(engine, Role.mediator, "colleague", "fe-sanmiao-qijian", other)
    r = await http.get(DOCS.format(cid) + "/agreement", headers=auth(colleague))
    masked = text_of(r.content)
    assert r.status_code == 200 and APPLICANT.name not in masked and APPLICANT.phone not in masked
    assert f"{APPLICANT.phone[:3]}****{APPLICANT.phone[-4:]}" in masked

    # Another organisation's mediator: no such case, no such document.
    for path in ("", "/agreement", "/registration"):
        r = await http.get(DOCS.format(cid) + path, headers=auth(tokens["mediator_union"]))
        assert r.status_code == 404
    r = await http.get(DOCS.format(cid) + "/termination_notice", headers=auth(tokens["officer"]))
    assert r.status_code == 404  # the case has none
    with Session(engine) as s:
        audited = s.exec(
            select(AuditLog.action, AuditLog.status_code).where(AuditLog.case_id == cid)
        ).all()
    assert ("GET /api/v1/cases/{case_id}/documents/{kind}", 200) in audited
    assert ("GET /api/v1/cases/{case_id}/documents/{kind}", 404) in audited


async def test_the_labor_agreement_names_the_union_committee_and_the_limitation(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    case = await agreed_case(http, tokens, DisputeType.labor)
    r = await http.get(
        DOCS.format(case["case_id"]) + "/agreement", headers=auth(tokens["supervisor"])
    )
    text = text_of(r.content)
    assert "劳动争议调解协议书" in text
    assert "经合川区总工会劳动争议人民调解委员会调解" in text
    due = (datetime.now(UTC) + timedelta(days=20)).date()
    until = due + timedelta(days=365)
    assert f"至{until.year}年{until.month}月{until.day}日届满" in text
    assert "区劳动人事争议仲裁委员会申请仲裁" in text


async def test_registration_follow_up_termination_and_the_case_file(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer = tokens["officer"]
    case = await agreed_case(http, tokens, DisputeType.family)
    cid, mediator = case["case_id"], assignee(tokens, case)
    visit = {"result": "performed", "notes": "补偿款已到账", "visited_at": now_iso()}
    assert (await command(http, mediator, cid, "follow-ups", visit)).status_code == 200
    kinds = [d["kind"] for d in (await http.get(DOCS.format(cid), headers=auth(officer))).json()]
    assert kinds == ["registration", "agreement", "follow_up", "case_file"]
    text = text_of(
        (await http.get(DOCS.format(cid) + "/registration", headers=auth(officer))).content
    )
    assert "人民调解受理登记表" in text and case["case_no"] in text and "家庭纠纷" in text
    assert APPLICANT.name in text and "三庙镇 七间社区" in text
    text = text_of(
        (await http.get(DOCS.format(cid) + "/follow_up/1", headers=auth(officer))).content
    )
    assert (
        "回访记录" in text and "第1次回访" in text and "已履行" in text and "补偿款已到账" in text
    )
    assert (
        await http.get(DOCS.format(cid) + "/follow_up/2", headers=auth(officer))
    ).status_code == 404
    text = text_of((await http.get(DOCS.format(cid) + "/case_file", headers=auth(officer))).content)
    assert "人民调解卷宗" in text and "调解结果：调解成功" in text
    assert (
        "1. 人民调解受理登记表" in text
        and "2. 人民调解协议书" in text
        and "3. 回访记录（第1次）" in text
    )

    # Terminated: the notice names the other routes.
    other_id, mediator = await in_mediation(http, tokens)
    other = {"case_id": other_id}
    r = await command(http, mediator, other["case_id"], "terminate", {"reason": "一方不愿继续调解"})
    assert r.status_code == 200 and r.json()["status"] == "closed"
    r = await http.get(DOCS.format(other["case_id"]) + "/termination_notice", headers=auth(officer))
    text = text_of(r.content)
    assert "终止调解告知书" in text and "调解终止" in text and "向人民法院提起诉讼" in text

    # An oral agreement is recorded as such.
    oral_id, mediator = await in_mediation(http, tokens)
    oral = {"case_id": oral_id}
    r = await command(http, mediator, oral["case_id"], "agreement", agreement_json(written=False))
    assert r.status_code == 200, r.text
    r = await http.get(DOCS.format(oral["case_id"]) + "/oral_agreement", headers=auth(officer))
    assert "口头调解协议登记表" in text_of(r.content) and "当场达成口头协议" in text_of(r.content)
    r = await http.get(DOCS.format(oral["case_id"]) + "/agreement", headers=auth(officer))
    assert r.status_code == 404


def test_the_arbitration_notice_names_the_limitation_date() -> None:
    """R5's notice, from a labor case's timeline (the 15 days are not waited for here)."""
    now = datetime(2026, 11, 30, 2, tzinfo=UTC)
    case = Case(
        id="c1",
        case_no="HC20261130-ABCDEF12",
        workflow_id="case-c1",
        status="in_mediation",
        dispute_type="labor",
        channel="walk_in",
        risk_level="green",
        town="三庙镇",
        summary="拖欠工资",
        created_at=now - timedelta(days=16),
        updated_at=now,
        policy=Policy().model_dump(mode="json"),
        state={
            "assignment": {
                "org_id": "union-labor",
                "org_name": "合川区总工会劳动争议人民调解委员会",
            }
        },
    )
    notice = CaseEvent(
        case_id="c1",
        seq=5,
        kind="arbitration_notice",
        status="in_mediation",
        actor_id="system",
        detail={"arbitration_limitation_until": "2027-11-30"},
        occurred_at=now,
    )
    parties = [
        {
            "role": "applicant",
            "name": "工人甲",
            "phone": "13800000001",
            "id_number": None,
            "address": None,
        },
        {
            "role": "respondent",
            "name": "某公司",
            "phone": "13800000002",
            "id_number": None,
            "address": None,
        },
    ]
    case_file = CaseFile(case, [notice], parties, {"arbitration_rights"})
    doc = case_file.find("arbitration_notice")
    assert doc is not None
    text = text_of(case_file.render(doc))
    assert "劳动争议仲裁权利告知书" in text and "工人甲、某公司：" in text
    assert "至2027年11月30日届满" in text and "合川区总工会劳动争议人民调解委员会" in text
