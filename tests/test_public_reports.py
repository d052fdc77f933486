"""Public reports triaged by kind (R13) over real HTTP, with the real worker and dev server:
a dispute becomes a routed case, an emergency alerts the duty supervisor and waits for a
supervisor's acknowledgement, an opinion or request goes to its department; the reporter
follows the report with its code; a supervisor re-triages."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from temporalio.client import Client, WithStartWorkflowOperation
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from cases.intake import case_no_for
from console.app import create_app
from core.settings import Settings
from models.case import Actor
from models.enums import ReportKind, ReportStatus, Role
from models.policy import Policy
from models.report import (
    ACKNOWLEDGE,
    REPORT_WORKFLOW,
    RETRIAGE,
    SUBMISSION,
    AcknowledgeInput,
    DisputeReport,
    ReportInput,
    ReportState,
    RetriageInput,
    case_number,
    facts_of,
    triage_of,
)
from models.tables import AuditLog, Notification, Report
from notify.outbox import Dispatcher
from store.reports import code_hash
from tests.api_helpers import auth, poll_case
from tests.conftest import SDK_METRICS_BIND, TEST_DATA_KEYS, TEST_KEYS, served
from tests.test_notice_texts import Recorder

REPORTER = {"name": "报告人丙", "phone": "13800000303"}
RESPONDENT = {"role": "respondent", "name": "测试丁", "phone": "13800000404"}
REALERT = 2  # seconds: the module's risk_ack_sla
REPORT_NO = re.compile(r"^RP\d{8}-[0-9A-F]{12}$")


@pytest_asyncio.fixture(scope="module")
async def api_url(
    client: Client,
    db_url: str,
    api_queue: str,
    engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """The real app, with a policy that re-alerts an unacknowledged emergency every 2 s."""
    policy_file = tmp_path_factory.mktemp("policy") / "policy.toml"
    policy_file.write_text(f'risk_ack_sla = "PT{REALERT}S"\n', encoding="utf-8")
    settings = Settings(
        database_url=db_url,
        task_queue=api_queue,
        sdk_metrics_bind=SDK_METRICS_BIND,
        keys=SecretStr(TEST_KEYS),
        policy_file=policy_file,
    )
    async with served(create_app(settings, client)) as url:
        yield url


def report_json(kind: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": kind,
        "channel": "public_app",
        "summary": "楼下商铺夜间施工噪音扰民",
        "town": "合阳城街道",
        "community": "立石子社区",
        "reporter": REPORTER,
    }
    return body | extra


def dispute_json(**extra: Any) -> dict[str, Any]:
    dispute = {
        "summary": "兄弟二人因老宅分割发生争执",
        "town": "三庙镇",
        "community": "七间社区",
        "dispute_type": "family",
        "parties": [RESPONDENT],
    }
    return report_json("dispute", **(dispute | extra))


async def submit(http: httpx.AsyncClient, token: str, body: dict[str, Any]) -> dict[str, Any]:
    r = await http.post("/api/v1/reports", json=body, headers=auth(token))
    assert r.status_code == 201, r.text
    receipt: dict[str, Any] = r.json()
    assert REPORT_NO.match(receipt["report_no"]) and len(receipt["code"]) == 12
    return receipt


async def lookup(http: httpx.AsyncClient, report_no: str, code: str | None) -> httpx.Response:
    params = {} if code is None else {"code": code}
    return await http.get(f"/api/v1/reports/{report_no}", params=params)  # no token


async def progress(http: httpx.AsyncClient, receipt: dict[str, Any]) -> dict[str, Any]:
    r = await lookup(http, receipt["report_no"], receipt["code"])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def outbox(engine: Engine, report_no: str) -> list[tuple[str, str]]:
    with Session(engine) as s:
        rows = s.exec(
            select(Notification)
            .where(Notification.case_id == f"report-{report_no}")
            .order_by(col(Notification.id))
        ).all()
        return [(n.kind, n.audience) for n in rows]


async def case_by_number(http: httpx.AsyncClient, token: str, case_no: str) -> dict[str, Any]:
    r = await http.get("/api/v1/cases", params={"case_no": case_no}, headers=auth(token))
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    return await poll_case(http, token, item["case_id"], lambda c: c["assignment"] is not None)


async def test_a_dispute_report_becomes_a_routed_case(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer = tokens["officer"]
    receipt = await submit(http, officer, dispute_json())
    assert receipt["status"] == "case_opened" and receipt["case_no"], receipt
    seen = await progress(http, receipt)
    assert (seen["status"], seen["kind"], seen["case_no"]) == (
        "case_opened",
        "dispute",
        receipt["case_no"],
    )
    assert set(seen) == {
        "report_no",
        "kind",
        "status",
        "department",
        "case_no",
        "created_at",
        "updated_at",
        "closed_at",
    }
    case = await case_by_number(http, officer, receipt["case_no"])
    assert case["status"] == "awaiting_acceptance" and case["channel"] == "public_app"
    assert case["assignment"]["org_id"] == "fe-sanmiao-qijian"
    # The reporter stands in as the applicant: the respondent was the only party named.
    parties = [(p["role"], p["name"]) for p in case["parties"]]
    assert parties == [("applicant", REPORTER["name"]), ("respondent", RESPONDENT["name"])]


async def test_an_emergency_alerts_until_a_supervisor_acknowledges_it(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    officer, supervisor = tokens["officer"], tokens["supervisor"]
    receipt = await submit(http, officer, report_json("emergency", summary="河堤出现管涌"))
    no = receipt["report_no"]
    assert receipt["status"] == "awaiting_acknowledgement"
    assert outbox(engine, no)[0] == ("risk_alert", "duty_supervisor")  # at once
    deadline = time.monotonic() + 20
    while ("supervisor_alert", "supervisors") not in outbox(engine, no):  # re-alerted
        assert time.monotonic() < deadline, outbox(engine, no)
        await asyncio.sleep(0.2)
    assert outbox(engine, no).count(("risk_alert", "duty_supervisor")) >= 2
    assert (await progress(http, receipt))["status"] == "awaiting_acknowledgement"

    ack = f"/api/v1/reports/{no}/acknowledge"
    r = await http.post(ack, json={"note": "已派人处置"}, headers=auth(officer))
    assert r.status_code == 403, r.text
    r = await http.post(ack, json={"note": "已派人处置"}, headers=auth(supervisor))
    assert r.status_code == 200 and r.json()["status"] == "acknowledged", r.text
    seen = await progress(http, receipt)
    assert seen["status"] == "acknowledged" and seen["closed_at"] is not None
    alerts = len(outbox(engine, no))
    await asyncio.sleep(REALERT * 1.5)
    assert len(outbox(engine, no)) == alerts  # no more alerts once acknowledged
    r = await http.post(ack, json={}, headers=auth(supervisor))
    assert r.status_code == 409, r.text

    # What the duty supervisor's phone shows: the outbox delivers it, rendered from the store.
    recorder = Recorder()
    await Dispatcher(engine, TEST_DATA_KEYS, recorder, batch=500).run_once()
    sent = [m for m in recorder.sent if m["case_no"] == no]
    to_duty = [m for m in sent if m["audience"] == "duty_supervisor"]
    assert to_duty and all(m["recipient"]["phone"] for m in to_duty)
    assert "突发事件" in to_duty[0]["text"] and no in to_duty[0]["text"]
    later = [m["text"] for m in sent if m["kind"] == "supervisor_alert"]
    assert later and "尚未确认" in later[0]
    assert "管涌" not in json.dumps(sent, ensure_ascii=False)  # the summary stays in the store


async def test_opinions_and_requests_go_to_their_department(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    body = report_json("request", department="区住房城乡建委")
    receipt = await submit(http, tokens["supervisor"], body | {"channel": "grid_worker"})
    seen = await progress(http, receipt)
    assert (seen["status"], seen["department"]) == ("referred_department", "区住房城乡建委")
    assert seen["closed_at"] is not None and seen["case_no"] is None
    # No department named: the street's own office (属地管理).
    seen = await progress(http, await submit(http, tokens["officer"], report_json("opinion")))
    assert (seen["status"], seen["department"]) == ("referred_department", "合阳城街道办事处")


async def test_the_lookup_refuses_a_wrong_or_missing_code_as_an_unknown_number(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    receipt = await submit(http, tokens["officer"], report_json("opinion"))
    no, code = receipt["report_no"], receipt["code"]
    spaced = f"{code[:4]}-{code[4:8].lower()} {code[8:]}"  # as a person may type it
    assert (await lookup(http, no, spaced)).status_code == 200
    unknown = await lookup(http, "RP20000101-000000000000", code)
    assert unknown.status_code == 404
    for wrong in (code[:-1] + ("A" if code[-1] != "A" else "B"), "", None):
        r = await lookup(http, no, wrong)
        assert r.status_code == 404 and r.json() == unknown.json(), (wrong, r.text)
    assert (await lookup(http, no, code)).json()["status"] == "referred_department"


async def test_a_supervisor_retriages_a_request_into_a_dispute_and_it_becomes_a_case(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    officer, supervisor = tokens["officer"], tokens["supervisor"]
    body = report_json("request", town="三庙镇", community="七间社区", summary="邻居占用通道")
    receipt = await submit(http, officer, body)
    assert receipt["status"] == "referred_department"  # closed: its workflow has ended
    path = f"/api/v1/reports/{receipt['report_no']}/retriage"
    again = {"kind": "dispute", "reason": "实为邻里纠纷", "dispute_type": "neighbor"}
    r = await http.post(path, json=again | {"parties": [RESPONDENT]}, headers=auth(officer))
    assert r.status_code == 403, r.text
    r = await http.post(path, json=again, headers=auth(supervisor))
    assert r.status_code == 422, r.text  # a dispute names its respondent
    r = await http.post(path, json=again | {"parties": [RESPONDENT]}, headers=auth(supervisor))
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["status"], out["kind"], out["retriages"]) == ("case_opened", "dispute", 1)
    assert out["department"] is None
    case = await case_by_number(http, officer, out["case_no"])
    assert case["case_id"] == out["case_id"] and case["dispute_type"] == "neighbor"
    assert (await progress(http, receipt))["case_no"] == out["case_no"]
    r = await http.post(path, json={"kind": "request", "reason": "再分"}, headers=auth(supervisor))
    assert r.status_code == 409 and out["case_no"] in r.json()["detail"], r.text

    # A running emergency re-triaged as a request: referred, and its alerts stop.
    emergency = await submit(http, officer, report_json("emergency"))
    path = f"/api/v1/reports/{emergency['report_no']}/retriage"
    to_request = {"kind": "request", "reason": "并非突发事件", "department": "区城市管理局"}
    r = await http.post(path, json=to_request, headers=auth(supervisor))
    assert r.status_code == 200 and r.json()["status"] == "referred_department", r.text
    alerts = len(outbox(engine, emergency["report_no"]))
    await asyncio.sleep(REALERT * 1.5)
    assert len(outbox(engine, emergency["report_no"])) == alerts


async def test_bodies_roles_and_idempotency(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer = tokens["officer"]
    bad = [
        dispute_json(parties=[{**RESPONDENT, "role": "applicant"}]),  # nobody to mediate with
        report_json("emergency", department="区应急管理局"),  # only opinions and requests
        report_json("request", parties=[RESPONDENT]),
        report_json("complaint"),
        report_json("opinion", channel="hotline"),
    ]
    for body in bad:
        r = await http.post("/api/v1/reports", json=body, headers=auth(officer))
        assert r.status_code == 422, (body, r.text)
        assert REPORTER["phone"] not in r.text  # refusals never echo what was sent
    for who in ("mediator_qijian", "admin"):
        r = await http.post(
            "/api/v1/reports", json=report_json("opinion"), headers=auth(tokens[who])
        )
        assert r.status_code == 403, r.text
    assert (await http.post("/api/v1/reports", json=report_json("opinion"))).status_code == 401

    headers = auth(officer) | {"Idempotency-Key": f"app-{uuid.uuid4()}"}
    first = await http.post("/api/v1/reports", json=report_json("request"), headers=headers)
    again = await http.post("/api/v1/reports", json=report_json("request"), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json()["report_no"] == first.json()["report_no"]
    assert again.json()["code"] == first.json()["code"]  # the retry still learns its code
    other = await http.post("/api/v1/reports", json=report_json("opinion"), headers=headers)
    assert other.status_code == 422, other.text
    # The monthly statistics keep their path.
    r = await http.get("/api/v1/reports/monthly?month=2026-01", headers=auth(officer))
    assert r.status_code == 200, r.text


async def test_personal_data_is_sealed_and_stays_out_of_ids_audit_history_and_logs(
    http: httpx.AsyncClient,
    tokens: dict[str, str],
    engine: Engine,
    client: Client,
    log_lines: list[str],
) -> None:
    receipt = await submit(http, tokens["officer"], report_json("emergency"))
    no, code = receipt["report_no"], receipt["code"]
    await progress(http, receipt)
    with Session(engine) as s:
        row = s.get(Report, no)
        assert row is not None and row.workflow_id == f"report-{no}"
        for sealed in (row.reporter_name, row.reporter_phone, row.summary):
            assert sealed.startswith("sealed:")
        assert code not in row.code_hash and row.code_hash == code_hash(no, code)
        audit = s.exec(select(AuditLog).where(col(AuditLog.resource).contains(no))).all()
    assert {a.action for a in audit} >= {"GET /api/v1/reports/{report_no}"}
    personal = [REPORTER["name"], REPORTER["phone"], "楼下商铺"]
    assert not [a for a in audit if any(p in f"{a.resource}{a.action}" for p in personal)]
    assert not [a for a in audit if code in a.resource]
    history = await client.get_workflow_handle(f"report-{no}").fetch_history()
    raw = json.dumps(history.to_json_dict(), ensure_ascii=False)
    assert not [p for p in personal if p in raw]  # payloads sealed with the report's key
    r = await http.post(
        f"/api/v1/reports/{no}/acknowledge", json={}, headers=auth(tokens["supervisor"])
    )
    assert r.status_code == 200, r.text
    assert not [line[:300] for line in log_lines if any(p in line for p in personal[:2])]


def test_a_report_names_its_case_as_intake_numbers_cases() -> None:
    when = datetime(2026, 11, 27, 23, 59, tzinfo=UTC)
    cid = str(uuid.uuid4())
    assert case_number(cid, when) == case_no_for(cid, when)


async def test_the_triage_workflow_with_and_without_the_cache(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    """Straight to Temporal on a fresh worker, cached and replaying in the sandbox: an
    emergency re-triaged into a dispute starts its case as a child that outlives the
    report, and a closed report takes no further commands."""
    report_no = f"RP20261127-{uuid.uuid4().hex[:12].upper()}"
    body = DisputeReport.model_validate(dispute_json())
    inp = ReportInput(
        report_no=report_no,
        facts=facts_of(body),
        triage=triage_of(body).model_copy(update={"kind": ReportKind.emergency, "parties": []}),
        policy=fast_policy,
        submitted_by=Actor(principal_id="p-gateway", role=Role.officer),
        code_hash=code_hash(report_no, "TESTCODE"),
    )
    start: WithStartWorkflowOperation[Any, ReportState] = WithStartWorkflowOperation(
        REPORT_WORKFLOW,
        inp,
        id=f"report-{report_no}",
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        result_type=ReportState,
    )
    state = await client.execute_update_with_start_workflow(
        SUBMISSION, start_workflow_operation=start, result_type=ReportState
    )
    assert state.status is ReportStatus.awaiting_acknowledgement and state.alerts == 1
    handle = await start.workflow_handle()
    supervisor = Actor(principal_id="p-supervisor", role=Role.supervisor)
    retriage = RetriageInput(triage=triage_of(body), reason="实为家庭纠纷", actor=supervisor)
    state = await handle.execute_update(RETRIAGE, retriage, result_type=ReportState)
    assert state.status is ReportStatus.case_opened and state.case_id is not None
    assert (await handle.result()).case_no == state.case_no
    child = client.get_workflow_handle(f"case-{state.case_id}")
    case = await child.describe()
    assert case.status is not None and case.status.name == "RUNNING"  # abandoned, alive
    await child.terminate("test over")
    with pytest.raises(RPCError, match=r"completed"):
        ack = AcknowledgeInput(actor=supervisor)
        await handle.execute_update(ACKNOWLEDGE, ack, result_type=ReportState)
