"""The case API over real HTTP, with the real worker and dev server behind it."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import Engine

from models.enums import Role
from store.principals import create_principal
from tests.api_helpers import (
    agreement_json,
    assignee,
    auth,
    command,
    happy_steps,
    intake_json,
    now_iso,
    poll_case,
    post_case,
    status_is,
)
from tests.helpers import APPLICANT, RESPONDENT, event_kinds, notification_kinds

PROBLEM = "application/problem+json"


async def test_happy_path_entirely_over_http(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    officer = tokens["officer"]
    key = f"walk-in-{uuid.uuid4()}"
    r = await post_case(http, officer, intake_json(), key)
    assert r.status_code == 201, r.text
    cid = r.json()["case_id"]
    assert r.json()["workflow_id"] == f"case-{cid}"

    case = await poll_case(http, officer, cid, status_is("awaiting_acceptance"))
    assert case["assignment"]["org_id"] == "fe-sanmiao-qijian"
    assert case["assignment"]["org_name"] == "七间社区五老工作室"
    # An officer may not accept; the list of what the caller may do says so.
    assert "accept" not in case["allowed_actions"]
    mediator = assignee(tokens, case)
    mine = (await http.get(f"/api/v1/cases/{cid}", headers=auth(mediator))).json()
    assert {"accept", "decline"} <= set(mine["allowed_actions"])

    for action, body, expected in happy_steps(case["assignment"]["mediator_id"]):
        r = await command(http, mediator, cid, action, body)
        assert r.status_code == 200, (action, r.text)
        assert r.json()["status"] == expected, action

    closed = (await http.get(f"/api/v1/cases/{cid}", headers=auth(officer))).json()
    assert (closed["status"], closed["outcome"], closed["allowed_actions"]) == (
        "closed",
        "resolved",
        [],
    )
    timeline = (await http.get(f"/api/v1/cases/{cid}/timeline", headers=auth(officer))).json()
    kinds = [e["kind"] for e in timeline]
    assert kinds == event_kinds(engine, cid)
    assert [e["seq"] for e in timeline] == list(range(1, len(timeline) + 1))
    for step in ("intake", "risk_screening", "assignment", "accepted", "session", "agreement"):
        assert step in kinds
    assert kinds[-1] == "closure"
    notes = (await http.get(f"/api/v1/cases/{cid}/notifications", headers=auth(officer))).json()
    assert [n["kind"] for n in notes] == notification_kinds(engine, cid)
    assert "assignment" in [n["kind"] for n in notes] and "closure" in [n["kind"] for n in notes]

    # The same key after the case has closed: the same case, 200, not a 500 or a new case.
    again = await post_case(http, officer, intake_json(), key)
    assert again.status_code == 200, again.text
    assert again.json()["case_id"] == cid and again.json()["status"] == "closed"


async def test_illegal_commands_409_bad_bodies_422_without_echo(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer, supervisor = tokens["officer"], tokens["supervisor"]
    cid = (await post_case(http, officer, intake_json())).json()["case_id"]
    await poll_case(http, officer, cid, status_is("awaiting_acceptance"))

    r = await command(
        http,
        supervisor,
        cid,
        "agreement",
        agreement_json("x"),
    )
    assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
    problem = r.json()
    assert problem["status"] == 409 and "awaiting_acceptance" in problem["detail"]

    # Unknown field and a wrong type; the submitted values (a phone number) are not echoed.
    secret = "13912345678"
    r = await command(http, supervisor, cid, "withdraw", {"reason": "x", "phone": secret})
    assert r.status_code == 422 and r.headers["content-type"] == PROBLEM
    assert secret not in r.text and "phone" in r.text
    body = intake_json()
    body["parties"][0]["phone"] = {"number": secret}
    r = await post_case(http, officer, body)
    assert r.status_code == 422 and secret not in r.text

    # Text no database can store (NUL, lone surrogates) is refused up front, not left to
    # fail the workflow's first step forever.
    body = intake_json()
    body["parties"][1]["address"] = "重庆\u0000合川"
    r = await post_case(http, officer, body)
    assert r.status_code == 422 and "parties.1.address" in r.json()["detail"]

    assert (await http.get("/api/v1/cases?page_size=101", headers=auth(officer))).status_code == 422
    assert (await http.get("/api/v1/cases")).status_code == 401
    bad = await http.get("/api/v1/cases", headers=auth("med_not-a-token"))
    assert bad.status_code == 401 and bad.headers["content-type"] == PROBLEM
    missing = await http.get(f"/api/v1/cases/{uuid.uuid4()}", headers=auth(officer))
    assert missing.status_code == 404

    # None of the refused commands changed the case.
    case = (await http.get(f"/api/v1/cases/{cid}", headers=auth(officer))).json()
    assert case["status"] == "awaiting_acceptance"


async def test_personal_fields_masked_for_a_mediator_not_assigned(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    cid = (await post_case(http, tokens["officer"], intake_json())).json()["case_id"]
    case = await poll_case(http, tokens["officer"], cid, status_is("awaiting_acceptance"))
    assignee = case["assignment"]["mediator_id"]
    other = next(m for m in ("fe-sanmiao-qijian-m1", "fe-sanmiao-qijian-m2") if m != assignee)
    _, theirs = create_principal(engine, Role.mediator, "assignee", "fe-sanmiao-qijian", assignee)
    _, colleague = create_principal(engine, Role.mediator, "colleague", "fe-sanmiao-qijian", other)

    full = (await http.get(f"/api/v1/cases/{cid}", headers=auth(theirs))).json()["parties"]
    assert [(p["name"], p["phone"], p["masked"]) for p in full] == [
        (APPLICANT.name, APPLICANT.phone, False),
        (RESPONDENT.name, RESPONDENT.phone, False),
    ]
    r = await http.get(f"/api/v1/cases/{cid}", headers=auth(colleague))
    masked = r.json()["parties"]
    assert all(p["masked"] for p in masked)
    for secret in (APPLICANT.name, APPLICANT.phone, APPLICANT.id_number, RESPONDENT.phone):
        assert secret is not None and secret not in r.text
    assert masked[0]["phone"] == "138****0001"
    # The colleague cannot act on someone else's case either.
    r = await command(http, colleague, cid, "accept", {"mediator_id": other})
    assert r.status_code == 403

    # What people wrote into the steps (attendees, summaries) can name the parties too.
    assert (await command(http, theirs, cid, "accept", {"mediator_id": assignee})).is_success
    session = {
        "held_at": now_iso(),
        "summary": f"{APPLICANT.name}陈述",
        "attendees": [APPLICANT.name],
    }
    assert (await command(http, theirs, cid, "sessions", session)).is_success
    seen = {
        who: (await http.get(f"/api/v1/cases/{cid}/timeline", headers=auth(token))).json()[-1]
        for who, token in (("assignee", theirs), ("colleague", colleague))
    }
    assert seen["assignee"]["detail"]["attendees"] == [APPLICANT.name]
    assert seen["colleague"]["detail"]["attendees"] == "[masked]"
    assert seen["colleague"]["detail"]["summary"] == "[masked]"
    assert seen["colleague"]["detail"]["number"] == 1  # structure stays readable
