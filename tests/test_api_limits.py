"""Bounds and ways out (DESIGN §6): over-long fields and bodies are refused before anything
is written, a command that takes too long answers 503 with Retry-After instead of hanging,
an error nobody mapped is still problem+json and counted, and every error answer keeps the
headers its status needs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, text
from temporalio.client import Client

from api.app import create_app
from api.problems import PROBLEM
from core.settings import Settings
from tests.api_helpers import auth, in_mediation, intake_json, now_iso, post_case
from tests.conftest import SDK_METRICS_BIND, TEST_KEYS, served
from tests.helpers import event_kinds


def _session(**changes: Any) -> dict[str, Any]:
    return {"held_at": now_iso(), "summary": "双方陈述", "attendees": ["甲", "乙"], **changes}


async def test_over_long_fields_and_bodies_are_refused_before_anything_is_written(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    cid, mediator = await in_mediation(http, tokens)
    before = event_kinds(engine, cid)
    url = f"/api/v1/cases/{cid}/sessions"

    long_name = await http.post(url, json=_session(attendees=["甲" * 101]), headers=auth(mediator))
    assert long_name.status_code == 422
    assert long_name.json()["errors"][0]["loc"] == ["body", "attendees", "0"]
    many_flags = {**intake_json(), "risk_flags": ["elderly"] * 50}
    assert (await post_case(http, tokens["officer"], many_flags)).status_code == 422

    # 64 KiB is the most any body may be: declared, or streamed without a length.
    big = _session(summary="长" * 30_000)  # 90 KB of UTF-8
    r = await http.post(url, json=big, headers=auth(mediator))
    assert r.status_code == 413 and r.headers["content-type"] == PROBLEM, r.text
    assert "64 KiB" in r.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"held_at": "2026-11-30T08:00:00+08:00", "summary": "'
        for _ in range(40):
            yield "长".encode() * 1000
        yield b'"}'

    headers = auth(mediator) | {"Content-Type": "application/json"}
    streamed = await http.post(url, content=chunks(), headers=headers)
    assert streamed.status_code == 413, streamed.text
    assert event_kinds(engine, cid) == before

    # The schema says so too, so a client can know before it sends.
    schema = (await http.get("/openapi.json")).json()["components"]["schemas"]
    attendees = schema["SessionBody"]["properties"]["attendees"]
    assert attendees["maxItems"] == 100 and attendees["items"]["maxLength"] == 100
    assert schema["IntakeRequest"]["properties"]["risk_flags"]["maxItems"] == 7


async def test_error_answers_keep_the_headers_their_status_needs(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await http.get(f"/api/v1/cases/{uuid.uuid4()}/accept", headers=auth(tokens["officer"]))
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.headers["content-type"] == PROBLEM
    r = await http.delete("/api/v1/cases", headers=auth(tokens["officer"]))
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"


async def test_a_command_that_takes_too_long_answers_503_and_its_retry_gets_the_answer(
    http: httpx.AsyncClient,
    tokens: dict[str, str],
    engine: Engine,
    client: Client,
    db_url: str,
    api_queue: str,
) -> None:
    cid, mediator = await in_mediation(http, tokens)
    impatient = Settings(
        database_url=db_url,
        task_queue=api_queue,
        sdk_metrics_bind=SDK_METRICS_BIND,
        keys=SecretStr(TEST_KEYS),
        command_timeout=0.001,  # no Update finishes this fast
    )
    key = f"slow-{uuid.uuid4()}"
    headers = auth(mediator) | {"Idempotency-Key": key}
    body = _session()
    async with served(create_app(impatient, client)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as slow:
            r = await slow.post(f"/api/v1/cases/{cid}/sessions", json=body, headers=headers)
    assert r.status_code == 503 and r.headers["retry-after"] == "2", r.text
    assert r.headers["content-type"] == PROBLEM and "same Idempotency-Key" in r.json()["detail"]
    # The Update went on without the client; the retry, with the key, gets its answer.
    retry = await http.post(f"/api/v1/cases/{cid}/sessions", json=body, headers=headers)
    assert retry.status_code == 200, retry.text
    assert event_kinds(engine, cid).count("session") == 1


async def test_an_unmapped_error_is_problem_json_counted_and_a_keyed_retry_records_once(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    """The audit row is written before an answer leaves; when that write fails after the
    command's Update succeeded, the client gets a 500 (problem+json, counted on /metrics)
    and its retry with the key gets the first answer, with one step recorded."""
    cid, mediator = await in_mediation(http, tokens)
    headers = auth(mediator) | {"Idempotency-Key": f"audit-{uuid.uuid4()}"}
    body = _session()
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_log RENAME TO audit_log_away"))
    try:
        r = await http.post(f"/api/v1/cases/{cid}/sessions", json=body, headers=headers)
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_log_away RENAME TO audit_log"))
    assert r.status_code == 500 and r.headers["content-type"] == PROBLEM, r.text
    assert r.json()["detail"] == "the server failed to answer; the error is logged"
    metrics = (await http.get("/metrics")).text
    counted = [
        line
        for line in metrics.splitlines()
        if line.startswith("mediation_http_unhandled_errors_total{")
    ]
    assert counted and float(counted[0].rsplit(" ", 1)[1]) >= 1, metrics[:2000]

    retry = await http.post(f"/api/v1/cases/{cid}/sessions", json=body, headers=headers)
    assert retry.status_code == 200, retry.text
    assert event_kinds(engine, cid).count("session") == 1
