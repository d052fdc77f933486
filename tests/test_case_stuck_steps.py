"""A step the case store will not take (here: a trigger refusing session rows) does not
lock the case: within the policy's bound the duty supervisor is alerted, other commands go
on, and once the fault is fixed the step lands, once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pydantic import SecretStr
from sqlalchemy import Engine, text
from temporalio.client import Client

from api.app import create_app
from core.settings import Settings
from models.commands import Action, RiskBody, SessionBody
from models.enums import CaseStatus, RiskLevel
from models.policy import Policy
from tests.api_helpers import auth, command, intake_json, now_iso, post_case
from tests.conftest import SDK_METRICS_BIND, TEST_KEYS, served
from tests.helpers import (
    accept_assigned,
    act,
    case_id,
    event_kinds,
    events,
    intake,
    notifications,
    open_case,
    stored,
)

BOUND = timedelta(seconds=2)


def refuse_sessions(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_sessions() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.kind = 'session' THEN RAISE EXCEPTION 'sessions refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_sessions BEFORE INSERT ON case_events "
                    "FOR EACH ROW EXECUTE FUNCTION refuse_sessions()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_sessions BEFORE INSERT ON case_events "
                    "WHEN NEW.kind = 'session' BEGIN SELECT RAISE(ABORT, 'sessions refused'); END"
                )
            )


def accept_sessions(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER refuse_sessions ON case_events"))
            conn.execute(text("DROP FUNCTION refuse_sessions()"))
        else:
            conn.execute(text("DROP TRIGGER refuse_sessions"))


async def test_a_step_the_store_refuses_alerts_the_supervisor_and_locks_nothing(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    policy = fast_policy.model_copy(update={"step_alert_after": BOUND})
    h = await open_case(client, task_queue, intake(), policy)
    await accept_assigned(h)
    cid = case_id(h)
    refuse_sessions(engine)
    try:
        body = SessionBody(held_at=datetime.now(UTC), summary="背靠背调解")
        session = asyncio.create_task(act(h, Action.sessions, body))
        # The duty supervisor hears of it within the bound (and the command has not answered).
        await stored(
            engine,
            cid,
            lambda _e, kinds: "supervisor_alert" in kinds,
            within=BOUND.total_seconds() + 10,
            what="the supervisor's alert",
        )
        alert = next(n for n in notifications(engine, cid) if n.kind == "supervisor_alert")
        assert alert.audience == "duty_supervisor"
        assert alert.detail["step_not_recorded"] == "session"
        assert not session.done()
        # The case is not locked: another command answers, its step recorded.
        s = await asyncio.wait_for(
            act(h, Action.risk, RiskBody(level=RiskLevel.yellow, reason="复评")), timeout=15
        )
        assert s.status is CaseStatus.in_mediation and s.risk_level is RiskLevel.yellow
        assert "risk_changed" in event_kinds(engine, cid)
        assert "session" not in event_kinds(engine, cid)
    finally:
        accept_sessions(engine)
    # Fixed: the session lands, once, in its place; its command answers.
    s = await asyncio.wait_for(session, timeout=60)
    assert s.sessions_held == 1
    rows = events(engine, cid)
    assert [r.kind for r in rows].count("session") == 1
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert [r.kind for r in rows][-2:] == ["session", "risk_changed"]
    await h.terminate("test over")


async def test_through_the_api_the_waiting_command_answers_503_and_its_retry_lands_once(
    client: Client,
    engine: Engine,
    db_url: str,
    api_queue: str,
    tokens: dict[str, str],
    tmp_path: Path,
) -> None:
    """The same, as the mediator's phone sees it: a 503 with Retry-After while the store
    refuses the session, the supervisor's alert among the case's notifications, another
    command answered meanwhile, and the keyed retry answered once the fault is fixed."""
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('step_alert_after = "PT2S"\n', encoding="utf-8")
    settings = Settings(
        database_url=db_url,
        task_queue=api_queue,
        sdk_metrics_bind=SDK_METRICS_BIND,
        keys=SecretStr(TEST_KEYS),
        policy_file=policy_file,
        command_timeout=5,
    )
    supervisor = tokens["supervisor"]
    async with served(create_app(settings, client)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            r = await post_case(http, tokens["officer"], intake_json())
            assert r.status_code == 201, r.text
            cid, assignee = r.json()["case_id"], r.json()["assignment"]["mediator_id"]
            mediator = tokens[assignee]  # a mediator acts on their own cases only
            r = await command(http, mediator, cid, "accept", {"mediator_id": assignee})
            assert r.status_code == 200, r.text
            headers = auth(mediator) | {"Idempotency-Key": f"s-{uuid.uuid4()}"}
            body = {"held_at": now_iso(), "summary": "背靠背调解", "attendees": ["甲"]}
            refuse_sessions(engine)
            try:
                r = await http.post(f"/api/v1/cases/{cid}/sessions", json=body, headers=headers)
                assert r.status_code == 503 and r.headers["retry-after"] == "2", r.text
                notes = await http.get(
                    f"/api/v1/cases/{cid}/notifications", headers=auth(supervisor)
                )
                alerts = [n for n in notes.json() if n["kind"] == "supervisor_alert"]
                assert [n["audience"] for n in alerts] == ["duty_supervisor"]
                risk = {"level": "yellow", "reason": "复评"}
                r = await command(http, mediator, cid, "risk", risk)
                assert r.status_code == 200 and r.json()["risk_level"] == "yellow", r.text
            finally:
                accept_sessions(engine)
            for _ in range(20):  # the step lands in the background; the retry answers
                r = await http.post(f"/api/v1/cases/{cid}/sessions", json=body, headers=headers)
                if r.status_code == 200:
                    break
                assert r.status_code == 503, r.text
            assert r.status_code == 200, r.text
            timeline = await http.get(f"/api/v1/cases/{cid}/timeline", headers=auth(supervisor))
            kinds = [e["kind"] for e in timeline.json()]
            assert kinds.count("session") == 1 and kinds[-2:] == ["session", "risk_changed"]
