"""DESIGN §7 as a table — every role × every route × a case of their own
organisation and of another → the expected status.

The expectations below are written from the design's table, not derived from `api.access`.
Action routes run against closed cases, so a permitted command reaches the workflow and is
refused there (409) without changing anything; a denied one never gets that far (403, or 404
for a case outside the caller's scope).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.commands import Action
from models.enums import DisputeType
from models.tables import AuditLog
from tests.api_helpers import (
    agreement_json,
    auth,
    command,
    intake_json,
    now_iso,
    poll_case,
    post_case,
    status_is,
)
from tests.helpers import APPLICANT, RESPONDENT

OK, CONFLICT, FORBIDDEN, HIDDEN, UNAUTHENTICATED = 200, 409, 403, 404, 401

# DESIGN §6: the action routes and a valid body for each.
ACTION_BODIES: dict[str, dict[str, Any]] = {
    "accept": {"mediator_id": "fe-sanmiao-qijian-m1"},
    "decline": {"reason": "本人回避"},
    "assign": {"org_id": "wf-marriage", "reason": "转妇联"},
    "sessions": {"held_at": "2026-11-27T08:00:00Z", "summary": "调解", "attendees": []},
    "agreement": agreement_json("分期给付"),
    "judicial-confirmation": {"jointly_applied": True, "note": "已确认"},
    "extend": {"both_parties_consent": True, "reason": "双方同意延长"},
    "terminate": {"reason": "无法达成"},
    "refuse": {"reason": "一方拒绝"},
    "follow-ups": {"result": "performed", "notes": "", "visited_at": now_iso()},
    "reopen": {"both_parties_consent": True, "reason": "重新调解"},
    "withdraw": {"reason": "申请人撤回"},
    "risk": {"level": "yellow", "reason": "复评"},
    "risk/ack": {"note": "已联系派出所"},
    "reject": {"ground": "administrative", "reason": "不属受理范围"},
}

# DESIGN §7, column by column.
MEDIATOR_ACTIONS = {
    "accept",
    "decline",
    "sessions",
    "agreement",
    "judicial-confirmation",
    "extend",
    "terminate",
    "refuse",
    "follow-ups",
    "reopen",
    "risk",
}
MAY_ACT = {
    "officer": {"reject", "withdraw", "risk/ack"},
    "supervisor": set(ACTION_BODIES),
    "mediator_qijian": MEDIATOR_ACTIONS,
    "mediator_union": MEDIATOR_ACTIONS,
    "mediator_wf": MEDIATOR_ACTIONS,
    "admin": set(),
}
OWN_ORG = {
    "mediator_qijian": "fe-sanmiao-qijian",
    "mediator_union": "union-labor",
    "mediator_wf": "wf-marriage",
}
# Each mediator principal names its mediator (tests/conftest.py: the organisation's first),
# and accepts for themself only.
OWN_MEDIATOR = {role: f"{org}-m1" for role, org in OWN_ORG.items()}
MAY_INTAKE = {"officer", "supervisor"}
MAY_READ = {"officer", "supervisor", "mediator_qijian", "mediator_union", "mediator_wf"}
MAY_SEE_STATS = {"officer", "supervisor"}

# The cases every role is tried against: (dispute type, town, community, non-public) →
# the organisation DESIGN §1 routes it to.
CASES = {
    "qijian": ((DisputeType.family, "三庙镇", "七间社区", False), "fe-sanmiao-qijian"),
    "qijian_non_public": ((DisputeType.family, "三庙镇", "七间社区", True), "fe-sanmiao-qijian"),
    "marriage": ((DisputeType.marriage, "合阳城街道", None, False), "wf-marriage"),
    "labor": ((DisputeType.labor, "南津街街道", None, False), "union-labor"),
}


def may_read(role: str, case: str) -> bool:
    if role == "supervisor":
        return True
    if role == "officer":
        return not CASES[case][0][3]
    if role in OWN_ORG:
        return OWN_ORG[role] == CASES[case][1]
    return False


def expected_read(role: str, case: str) -> int:
    if role not in MAY_READ:
        return FORBIDDEN
    return OK if may_read(role, case) else HIDDEN


def body_of(role: str, action: str) -> dict[str, Any]:
    if action == "accept" and role in OWN_MEDIATOR:
        return {"mediator_id": OWN_MEDIATOR[role]}
    return ACTION_BODIES[action]


def expected_action(role: str, action: str, case: str) -> int:
    if action not in MAY_ACT[role]:
        return FORBIDDEN
    return CONFLICT if may_read(role, case) else HIDDEN  # the case is closed


@pytest_asyncio.fixture(scope="module")
async def closed_cases(api_url: str, tokens: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """One closed (withdrawn) case per row of CASES; name → case id."""
    sup = tokens["supervisor"]
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        for name, ((dtype, town, community, non_public), org) in CASES.items():
            r = await post_case(
                http, sup, intake_json(dtype, town, community, non_public=non_public)
            )
            assert r.status_code == 201, r.text
            cid = r.json()["case_id"]
            case = await poll_case(http, sup, cid, status_is("awaiting_acceptance"))
            assert case["assignment"]["org_id"] == org, name
            # The table's mediators are these; routing picks the first of a fresh store
            # (the cases before it are closed), so each case is its mediator's own.
            assert case["assignment"]["mediator_id"] == f"{org}-m1", name
            r = await command(http, sup, cid, "withdraw", {"reason": "测试"})
            assert r.status_code == 200 and r.json()["status"] == "closed", r.text
            ids[name] = cid
    yield ids


def test_the_table_covers_every_action_route() -> None:
    assert set(ACTION_BODIES) == {a.value for a in Action}


@pytest.mark.parametrize("role", sorted(MAY_ACT))
async def test_access_table(
    role: str, http: httpx.AsyncClient, tokens: dict[str, str], closed_cases: dict[str, str]
) -> None:
    token = tokens[role]
    got: dict[tuple[str, str], int] = {}
    want: dict[tuple[str, str], int] = {}
    for case, cid in closed_cases.items():
        for route in ("", "/timeline", "/notifications"):
            r = await http.get(f"/api/v1/cases/{cid}{route}", headers=auth(token))
            got[(f"GET {route or '/'}", case)] = r.status_code
            want[(f"GET {route or '/'}", case)] = expected_read(role, case)
        for action in ACTION_BODIES:
            r = await command(http, token, cid, action, body_of(role, action))
            got[(action, case)] = r.status_code
            want[(action, case)] = expected_action(role, action, case)
            assert r.headers["content-type"] == "application/problem+json"

    for path, allowed in (
        ("/api/v1/cases", MAY_READ),
        ("/api/v1/stats", MAY_SEE_STATS),
        ("/api/v1/organizations", set(MAY_ACT)),
        ("/api/v1/mediators", set(MAY_ACT)),
    ):
        got[(f"GET {path}", "-")] = (await http.get(path, headers=auth(token))).status_code
        want[(f"GET {path}", "-")] = OK if role in allowed else FORBIDDEN
    r = await post_case(http, token, intake_json(DisputeType.neighbor, "太和镇", None))
    got[("POST /cases", "-")] = r.status_code
    want[("POST /cases", "-")] = 201 if role in MAY_INTAKE else FORBIDDEN

    wrong = {k: (got[k], want[k]) for k in want if got[k] != want[k]}
    assert not wrong, f"(got, want) for {role}: {wrong}"


@pytest.mark.parametrize("role", sorted(MAY_READ))
async def test_lists_hold_only_what_the_role_may_read(
    role: str, http: httpx.AsyncClient, tokens: dict[str, str], closed_cases: dict[str, str]
) -> None:
    r = await http.get("/api/v1/cases?status=closed&page_size=100", headers=auth(tokens[role]))
    assert r.status_code == 200
    listed = {c["case_id"] for c in r.json()["items"]}
    for case, cid in closed_cases.items():
        assert (cid in listed) is may_read(role, case), (role, case)


async def test_every_route_needs_a_token(
    http: httpx.AsyncClient, closed_cases: dict[str, str]
) -> None:
    cid = closed_cases["qijian"]
    paths = [f"/api/v1/cases/{cid}{r}" for r in ("", "/timeline", "/notifications")]
    for path in [*paths, "/api/v1/cases", "/api/v1/stats", "/api/v1/organizations"]:
        assert (await http.get(path)).status_code == UNAUTHENTICATED, path
    for action, body in ACTION_BODIES.items():
        r = await http.post(f"/api/v1/cases/{cid}/{action}", json=body)
        assert r.status_code == UNAUTHENTICATED, action


async def test_denials_are_audited_without_personal_data(
    http: httpx.AsyncClient, tokens: dict[str, str], closed_cases: dict[str, str], engine: Engine
) -> None:
    cid = closed_cases["marriage"]
    r = await http.get(f"/api/v1/cases/{cid}", headers=auth(tokens["mediator_union"]))
    assert r.status_code == HIDDEN
    with Session(engine) as s:
        rows = s.exec(select(AuditLog).where(AuditLog.case_id == cid)).all()
    denied = [a for a in rows if a.status_code == HIDDEN and a.role == "mediator"]
    assert denied and denied[-1].action == "GET /api/v1/cases/{case_id}"
    assert {a.status_code for a in rows} >= {200, 404}
    every = " ".join(str(a.model_dump()) for a in rows)
    for secret in (APPLICANT.name, APPLICANT.phone, RESPONDENT.phone, APPLICANT.id_number):
        assert secret is not None and secret not in every
