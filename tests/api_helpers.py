"""Helpers for tests that drive the API over real HTTP."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from models.enums import DisputeType
from tests.helpers import agreement_json, intake


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def intake_json(
    dispute_type: DisputeType = DisputeType.family,
    town: str = "三庙镇",
    community: str | None = "七间社区",
    **extra: Any,
) -> dict[str, Any]:
    """A synthetic intake body as a client sends it (JSON, not the model)."""
    body: dict[str, Any] = intake(dispute_type, town, community, **extra).model_dump(mode="json")
    return body


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


async def post_case(
    http: httpx.AsyncClient, token: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    headers = auth(token) | {"Idempotency-Key": key or f"test-{uuid.uuid4()}"}
    return await http.post("/api/v1/cases", json=body, headers=headers)


async def command(
    http: httpx.AsyncClient, token: str, case_id: str, action: str, body: dict[str, Any]
) -> httpx.Response:
    return await http.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=auth(token))


def assignee(tokens: dict[str, str], case: dict[str, Any]) -> str:
    """The token of the mediator the case is assigned to (tests/conftest.py ASSIGNEES):
    routing spreads cases by load, and a mediator acts only on their own."""
    return tokens[case["assignment"]["mediator_id"]]


async def in_mediation(http: httpx.AsyncClient, tokens: dict[str, str]) -> tuple[str, str]:
    """A family case from 七间社区 taken in and accepted by the studio's mediator it was
    routed to: its id, and that mediator's token."""
    r = await post_case(http, tokens["officer"], intake_json())
    assert r.status_code == 201, r.text
    case = r.json()
    mediator = assignee(tokens, case)
    accept = {"mediator_id": case["assignment"]["mediator_id"]}
    r = await command(http, mediator, case["case_id"], "accept", accept)
    assert r.status_code == 200 and r.json()["status"] == "in_mediation", r.text
    cid: str = case["case_id"]
    return cid, mediator


async def poll_case(
    http: httpx.AsyncClient,
    token: str,
    case_id: str,
    pred: Callable[[dict[str, Any]], bool],
    within: float = 20,
) -> dict[str, Any]:
    """GET the case until `pred` holds on its JSON."""
    deadline = time.monotonic() + within
    while True:
        r = await http.get(f"/api/v1/cases/{case_id}", headers=auth(token))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if pred(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; case is {body['status']}")
        await asyncio.sleep(0.2)


def status_is(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda c: bool(c["status"] == status)


def happy_steps(mediator_id: str) -> list[tuple[str, dict[str, Any], str]]:
    """DESIGN §3's happy path after routing: (action, body, status it leads to)."""
    return [
        ("accept", {"mediator_id": mediator_id}, "in_mediation"),
        (
            "sessions",
            {"held_at": now_iso(), "summary": "双方陈述", "attendees": ["甲", "乙"]},
            "in_mediation",
        ),
        (
            "agreement",
            agreement_json(),
            "follow_up",
        ),
        ("judicial-confirmation", {"jointly_applied": True, "note": "人民法院已确认"}, "follow_up"),
        (
            "follow-ups",
            {"result": "performed", "notes": "已履行", "visited_at": now_iso()},
            "closed",
        ),
    ]


async def resolve_case(http: httpx.AsyncClient, tokens: dict[str, str]) -> str:
    """A family case from 七间社区 driven over HTTP from intake to closed/resolved by the
    mediator it was routed to."""
    officer = tokens["officer"]
    r = await post_case(http, officer, intake_json())
    assert r.status_code == 201, r.text
    cid: str = r.json()["case_id"]
    case = await poll_case(http, officer, cid, status_is("awaiting_acceptance"))
    mediator = assignee(tokens, case)
    for action, body, expected in happy_steps(case["assignment"]["mediator_id"]):
        r = await command(http, mediator, cid, action, body)
        assert r.status_code == 200 and r.json()["status"] == expected, (action, r.text)
    return cid
