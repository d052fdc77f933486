"""`Idempotency-Key` (DESIGN §6): a double click, a retry after a dropped connection or a
timeout records one case and one step, and answers as the first request did. A key is the
principal's own and is bound to the request it first came with."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
from sqlalchemy import Engine, func
from sqlmodel import Session, select
from temporalio.client import Client

from models.enums import DisputeType, Role
from models.tables import Case
from store.principals import create_principal
from tests.api_helpers import auth, in_mediation, intake_json, now_iso, post_case
from tests.helpers import event_kinds


async def _post(
    http: httpx.AsyncClient, token: str, cid: str, action: str, body: dict[str, Any], key: str
) -> httpx.Response:
    headers = auth(token) | {"Idempotency-Key": key}
    return await http.post(f"/api/v1/cases/{cid}/{action}", json=body, headers=headers)


def _session(summary: str = "双方陈述") -> dict[str, Any]:
    return {"held_at": now_iso(), "summary": summary, "attendees": ["甲", "乙"]}


async def test_a_command_retried_with_its_key_records_one_step_and_answers_the_same(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    cid, mediator = await in_mediation(http, tokens)
    key = f"session-{uuid.uuid4()}"
    body = _session()
    first = await _post(http, mediator, cid, "sessions", body, key)
    again = await _post(http, mediator, cid, "sessions", body, key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json()
    assert event_kinds(engine, cid).count("session") == 1

    # The same key with another body is the client's mistake, and records nothing.
    other = await _post(http, mediator, cid, "sessions", _session("另一次"), key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    # ... and so is the same key on another command, or another case's.
    terminate = {"reason": "调解不成"}
    assert (await _post(http, mediator, cid, "terminate", terminate, key)).status_code == 422
    assert event_kinds(engine, cid).count("session") == 1

    # Without a key, a second session is a second session: the key is what makes one.
    fresh = await _post(http, mediator, cid, "sessions", _session(), f"s-{uuid.uuid4()}")
    assert fresh.status_code == 200
    assert event_kinds(engine, cid).count("session") == 2


async def test_a_retry_after_a_client_side_timeout_records_one_step(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine, api_url: str
) -> None:
    cid, mediator = await in_mediation(http, tokens)
    key = f"timeout-{uuid.uuid4()}"
    body = _session()
    # The client gives up long before the answer; the request has left and lands anyway.
    async with httpx.AsyncClient(base_url=api_url, timeout=httpx.Timeout(5, read=0.001)) as rash:
        try:
            r = await _post(rash, mediator, cid, "sessions", body, key)
        except httpx.ReadTimeout:
            pass
        else:  # the machine answered within a millisecond: still a retry below
            assert r.status_code == 200
    retry = await _post(http, mediator, cid, "sessions", body, key)
    assert retry.status_code == 200, retry.text
    await asyncio.sleep(1)  # room for a second step, if there were going to be one
    assert event_kinds(engine, cid).count("session") == 1
    again = await _post(http, mediator, cid, "sessions", body, key)
    assert again.json() == retry.json()


async def test_a_retried_command_that_closed_the_case_answers_as_it_did(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    cid, mediator = await in_mediation(http, tokens)
    key = f"refuse-{uuid.uuid4()}"
    first = await _post(http, mediator, cid, "terminate", {"reason": "调解不成"}, key)
    assert first.status_code == 200 and first.json()["status"] == "closed", first.text
    again = await _post(http, mediator, cid, "terminate", {"reason": "调解不成"}, key)
    assert again.status_code == 200 and again.json() == first.json()
    assert event_kinds(engine, cid).count("closure") == 1


async def test_twenty_concurrent_intakes_with_one_key_make_one_case(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine, client: Client
) -> None:
    key = f"concurrent-{uuid.uuid4()}"
    body = intake_json(DisputeType.neighbor)
    answers = await asyncio.gather(
        *(post_case(http, tokens["officer"], body, key) for _ in range(20))
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [200] * 19 + [201], [r.text for r in answers]
    ids = {r.json()["case_id"] for r in answers}
    assert len(ids) == 1
    (cid,) = ids
    with Session(engine) as s:
        rows = s.exec(select(Case).where(Case.case_no == answers[0].json()["case_no"])).all()
    assert [r.id for r in rows] == [cid]
    runs = [w async for w in client.list_workflows(f"WorkflowId = 'case-{cid}'")]
    assert len(runs) == 1
    assert event_kinds(engine, cid).count("intake") == 1

    # Another body under the key: refused, nothing new.
    with Session(engine) as s:
        before = s.exec(select(func.count()).select_from(Case)).one()
    other = await post_case(http, tokens["officer"], intake_json(DisputeType.family), key)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Case)).one() == before


async def test_another_principal_with_the_same_key_never_gets_the_first_case(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    key = f"shared-{uuid.uuid4()}"
    body = intake_json(non_public=True)
    mine = await post_case(http, tokens["officer"], body, key)
    assert mine.status_code == 201, mine.text
    _, colleague = create_principal(engine, Role.officer, "another officer")
    theirs = await post_case(http, colleague, body, key)
    # Their key is their own: a case of theirs, not a way into the first one.
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["case_id"] != mine.json()["case_id"]
    # The first officer's repeat of a non-public intake is held to their read scope (R10:
    # officers do not read non-public cases); it records nothing new either way.
    repeat = await post_case(http, tokens["officer"], body, key)
    assert repeat.status_code == 404
    assert event_kinds(engine, mine.json()["case_id"]).count("intake") == 1
