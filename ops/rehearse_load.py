"""The rehearsal's load: the case scenarios, and a client that drives them through both API
processes as a load balancer would."""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

# A signed, written agreement with R7's particulars, as the load sends it (the bench too).
SAMPLE_AGREEMENT = {
    "terms": "按份分割，一次付清",
    "signed_by_parties": True,
    "written": True,
    "facts": "兄弟二人因老宅分割发生争执",
    "points_in_dispute": "老宅如何分割",
    "undertakings": [{"party_position": "respondent", "obligation": "支付补偿款"}],
    "performance_manner": "一次性银行转账",
}

# Second-scale timers, so the timer-driven outcome (labor → arbitration) comes in the run.
POLICY = """\
acceptance_timeout = "PT10M"
acceptance_timeout_red = "PT10M"
labor_mediation_deadline = "PT5S"
deadline_reminder_before = "PT2S"
mediation_deadline = "PT10M"
"""

# scenario → (dispute type, town, community, commands by role, expected outcome)
Step = tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]], str]
SCENARIOS: dict[str, tuple[str, str, str | None, list[Step], str]] = {
    "resolved": (
        "family",
        "三庙镇",
        "七间社区",
        [
            (
                "mediator",
                "accept",
                lambda c: {"mediator_id": c["assignment"]["mediator_id"]},
                "in_mediation",
            ),
            (
                "mediator",
                "agreement",
                lambda c: SAMPLE_AGREEMENT,
                "follow_up",
            ),
            (
                "mediator",
                "follow-ups",
                lambda c: {"result": "performed", "notes": "", "visited_at": _now()},
                "closed",
            ),
        ],
        "resolved",
    ),
    "withdrawn": (
        "neighbor",
        "三庙镇",
        "七间社区",
        [("officer", "withdraw", lambda c: {"reason": "申请人撤回"}, "closed")],
        "withdrawn",
    ),
    "terminated": (
        "marriage",
        "合阳城街道",
        None,
        [
            (
                "mediator",
                "accept",
                lambda c: {"mediator_id": c["assignment"]["mediator_id"]},
                "in_mediation",
            ),
            ("mediator", "terminate", lambda c: {"reason": "无法达成"}, "closed"),
        ],
        "terminated",
    ),
    "referred_arbitration": (
        "labor",
        "南津街街道",
        None,
        [
            (
                "mediator",
                "accept",
                lambda c: {"mediator_id": c["assignment"]["mediator_id"]},
                "in_mediation",
            ),
        ],  # then the labor deadline passes with no agreement
        "referred_arbitration",
    ),
}
ORG_OF = {
    "family": "fe-sanmiao-qijian",
    "neighbor": "fe-sanmiao-qijian",
    "marriage": "wf-marriage",
    "labor": "union-labor",
}


def _now() -> str:
    return datetime.now(UTC).isoformat()


class Apis:
    """Both API processes behind a client-side balancer: round robin, and a request that
    cannot reach one API (connection refused or dropped) goes to the other."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = urls
        self._next = itertools.cycle(range(len(urls)))
        self.failovers = 0
        self.http = httpx.AsyncClient(timeout=30)

    async def request(self, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **kw.pop("headers", {})}
        for attempt in range(60):
            url = self.urls[next(self._next)]
            try:
                return await self.http.request(method, url + path, headers=headers, **kw)
            except httpx.TransportError:
                self.failovers += 1
                await asyncio.sleep(0.2 if attempt < 10 else 1)
        raise RuntimeError(f"no API answered {method} {path}")


async def drive_case(apis: Apis, tokens: dict[str, str], scenario: str, n: int) -> str:
    dispute_type, town, community, steps, _ = SCENARIOS[scenario]
    body = {
        "dispute_type": dispute_type,
        "channel": "walk_in",
        "summary": "演练案件",
        "town": town,
        "community": community,
        "parties": [
            {"role": "applicant", "name": f"演练甲{n}", "phone": f"1380000{n:04d}"},
            {"role": "respondent", "name": f"演练乙{n}", "phone": f"1390000{n:04d}"},
        ],
    }
    key = {"Idempotency-Key": f"rehearsal-{uuid.uuid4()}"}
    r = await apis.request("POST", "/api/v1/cases", tokens["officer"], json=body, headers=key)
    while r.status_code == 503:  # started, not recorded yet: the same key again
        r = await apis.request("POST", "/api/v1/cases", tokens["officer"], json=body, headers=key)
    r.raise_for_status()
    case: dict[str, Any] = r.json()  # intake answers with the case routed
    cid: str = case["case_id"]
    while case["status"] == "awaiting_supervisor":  # every fitting mediator is at capacity
        assign = {"org_id": ORG_OF[dispute_type], "reason": "演练：主管指派"}
        r = await apis.request(
            "POST", f"/api/v1/cases/{cid}/assign", tokens["supervisor"], json=assign
        )
        case = r.json() if r.status_code == 200 else await _until(apis, tokens["officer"], cid)
    for who, action, make_body, expected in steps:
        # Routing is load-aware: a busy studio's cases go to the next body (DESIGN §1).
        org = (case.get("assignment") or {}).get("org_id") or ORG_OF[dispute_type]
        mediator = (case.get("assignment") or {}).get("mediator_id") or org
        token = tokens[mediator] if who == "mediator" else tokens[who]
        while case["status"] not in (expected, "closed"):
            r = await apis.request(
                "POST", f"/api/v1/cases/{cid}/{action}", token, json=make_body(case)
            )
            if r.status_code == 200:
                case = r.json()
                continue
            if r.status_code != 409:
                r.raise_for_status()
            # 409 after a failover's retry: the first attempt landed; the store says so.
            case = await _until(apis, token, cid)
    return cid


async def _until(apis: Apis, token: str, cid: str) -> dict[str, Any]:
    for _ in range(600):
        r = await apis.request("GET", f"/api/v1/cases/{cid}", token)
        if r.status_code == 200:
            body: dict[str, Any] = r.json()
            return body
        await asyncio.sleep(0.1)
    raise RuntimeError(f"case {cid} could not be read")


async def wait_ready(urls: list[str], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=3) as http:
        for url in urls:
            while True:
                try:
                    if (await http.get(url + "/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{url} did not become ready")
                await asyncio.sleep(0.3)
