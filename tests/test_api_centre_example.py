"""The centre's own example over real HTTP (issue 16): a wife in 七间社区 threatens to jump
from a building after a quarrel; the community's five-elders studio settles it on the spot.
And the refusals a person at the API meets for R2, R8 and R11."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from models.enums import DisputeType
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

STUDIO = "fe-sanmiao-qijian"
STUDIO_MEDIATOR = "fe-sanmiao-qijian-m1"
RED_CADENCE = timedelta(days=30)  # the legal default the API's policy runs under (R4)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _notes(http: httpx.AsyncClient, token: str, cid: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/v1/cases/{cid}/notifications", headers=auth(token))
    assert r.status_code == 200, r.text
    notes: list[dict[str, Any]] = r.json()
    return notes


async def test_the_qijian_example_end_to_end(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer, supervisor = tokens["officer"], tokens["supervisor"]
    studio = tokens[STUDIO_MEDIATOR]

    # Intake: the self-harm flag and the words both say red; the alert goes out at once.
    body = intake_json(
        DisputeType.family,
        "三庙镇",
        "七间社区",
        summary="妻子与丈夫争吵后扬言要跳楼",
        flags=["self_harm"],
    )
    r = await post_case(http, officer, body)
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["case_id"]
    assert case["risk_level"] == "red"
    first = [(n["kind"], n["audience"]) for n in (await _notes(http, officer, cid))[:2]]
    assert sorted(first) == [("risk_alert", "duty_supervisor"), ("risk_alert", "police_liaison")]

    # The studio of the community was there and settles it: the supervisor assigns it (by
    # the table of DESIGN §1 a red family dispute is routed to the women's federation).
    assign = {"org_id": STUDIO, "mediator_id": STUDIO_MEDIATOR, "reason": "五老工作室就近调处"}
    r = await command(http, supervisor, cid, "assign", assign)
    assert r.status_code == 200, r.text
    assert r.json()["assignment"]["org_name"] == "七间社区五老工作室"
    r = await command(http, studio, cid, "accept", {"mediator_id": STUDIO_MEDIATOR})
    assert r.status_code == 200 and r.json()["status"] == "in_mediation", r.text

    # Before any session the red alert is acknowledged (R3).
    r = await command(http, supervisor, cid, "risk/ack", {"note": "派出所民警已到场"})
    assert r.status_code == 200 and "sessions" in r.json()["allowed_actions"], r.text
    session = {"held_at": now_iso(), "summary": "现场劝解，夫妻和好", "attendees": ["周德明"]}
    r = await command(http, studio, cid, "sessions", session)
    assert r.status_code == 200, r.text

    # An oral agreement on the spot at that first session (R14).
    oral = agreement_json("夫妻和好，丈夫保证不再争吵", on_site=True, written=False)
    r = await command(http, studio, cid, "agreement", oral)
    assert r.status_code == 200, r.text
    agreed = r.json()
    assert agreed["status"] == "follow_up"
    due = _when(agreed["deadlines"]["next_follow_up_due"])
    assert abs(due - (datetime.now(UTC) + RED_CADENCE)) < timedelta(minutes=5)

    # A visit finds it holding: the case closes as resolved on site.
    visit = {"result": "performed", "notes": "夫妻关系和睦", "visited_at": now_iso()}
    r = await command(http, studio, cid, "follow-ups", visit)
    assert r.status_code == 200, r.text
    closed = r.json()
    assert (closed["status"], closed["outcome"]) == ("closed", "resolved_on_site")
    # Still inside the 30 days of R8: the parties may yet apply, and only jointly.
    assert closed["allowed_actions"] == ["judicial-confirmation"]
    r = await command(http, studio, cid, "judicial-confirmation", {"note": "申请"})
    assert r.status_code == 422, r.text  # `jointly_applied` is required
    r = await command(http, studio, cid, "judicial-confirmation", {"jointly_applied": False})
    assert r.status_code == 409 and "joint application (R8)" in r.json()["detail"], r.text
    r = await command(http, studio, cid, "judicial-confirmation", {"jointly_applied": True})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["allowed_actions"]) == ("closed", [])

    timeline = (await http.get(f"/api/v1/cases/{cid}/timeline", headers=auth(officer))).json()
    kinds = [e["kind"] for e in timeline]
    assert kinds[:3] == ["intake", "risk_screening", "risk_alert"]
    assert kinds[-3:] == ["follow_up", "closure", "judicial_confirmation"]
    on_site = next(e for e in timeline if e["kind"] == "agreement")["detail"]
    assert (on_site["on_site"], on_site["written"]) == (True, False)


async def test_a_collective_case_stays_yellow_and_a_rejection_names_its_ground(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer, supervisor = tokens["officer"], tokens["supervisor"]
    body = intake_json(DisputeType.labor, "合阳城街道", None, summary="拖欠工资", headcount=15)
    r = await post_case(http, officer, body)
    assert r.status_code == 201, r.text
    cid = r.json()["case_id"]
    case = await poll_case(http, officer, cid, status_is("awaiting_supervisor"))
    assert case["risk_level"] == "yellow"

    # R11: never below yellow, at intake or later.
    r = await command(http, supervisor, cid, "risk", {"level": "green", "reason": "已协商"})
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "a collective dispute is at least yellow risk (R11)"

    # R2: the ground is one of the law's, and required.
    r = await command(http, officer, cid, "reject", {"reason": "已起诉"})
    assert r.status_code == 422, r.text
    reject = {"ground": "court_or_police_accepted", "reason": "劳动者已向法院起诉"}
    r = await command(http, officer, cid, "reject", reject)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome"]) == ("closed", "not_accepted")
