"""The store is the read model (DESIGN §6): reads never ask the workflow, intake answers
with the case routed, and whatever a response said, any later read by anyone shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import (
    Client,
    Interceptor,
    OutboundInterceptor,
    QueryWorkflowInput,
)

from api.app import create_app
from core.settings import Settings
from tests.api_helpers import assignee, auth, command, intake_json, post_case
from tests.conftest import SDK_METRICS_BIND, TEST_KEYS, served
from workflows.case import MediationCaseWorkflow


class CountQueries(Interceptor):
    """Counts every workflow query the API's Temporal client sends."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        counter = self

        class Counting(OutboundInterceptor):
            async def query_workflow(self, input: QueryWorkflowInput) -> Any:
                counter.queries.append(input.query)
                return await super().query_workflow(input)

        return Counting(next)


@pytest_asyncio.fixture(scope="module")
async def counted() -> CountQueries:
    return CountQueries()


@pytest_asyncio.fixture(scope="module")
async def counted_api(
    client: Client, db_url: str, api_queue: str, counted: CountQueries
) -> AsyncIterator[tuple[str, Client]]:
    """The app served with a client that counts its queries."""
    config = client.config()
    config["interceptors"] = [counted]
    counting_client = Client(**config)
    settings = Settings(
        database_url=db_url,
        task_queue=api_queue,
        sdk_metrics_bind=SDK_METRICS_BIND,
        keys=SecretStr(TEST_KEYS),
    )
    async with served(create_app(settings, counting_client)) as url:
        yield url, counting_client


async def test_reading_an_open_case_runs_no_workflow_query(
    counted_api: tuple[str, Client], counted: CountQueries, tokens: dict[str, str]
) -> None:
    url, counting_client = counted_api
    officer, mediator = tokens["officer"], tokens["mediator_qijian"]
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        r = await post_case(http, officer, intake_json())
        assert r.status_code == 201, r.text
        cid = r.json()["case_id"]
        for token in (officer, mediator, tokens["supervisor"]):
            one = await http.get(f"/api/v1/cases/{cid}", headers=auth(token))
            assert one.status_code == 200 and one.json()["status"] == "awaiting_acceptance"
            listed = await http.get("/api/v1/cases", headers=auth(token))
            assert cid in [c["case_id"] for c in listed.json()["items"]]
            timeline = await http.get(f"/api/v1/cases/{cid}/timeline", headers=auth(token))
            assert timeline.status_code == 200
    assert counted.queries == []
    # The counter does count: the operators' query, through the same client.
    handle = counting_client.get_workflow_handle_for(MediationCaseWorkflow.run, f"case-{cid}")
    state = await handle.query(MediationCaseWorkflow.current_state)
    assert state.status.value == "awaiting_acceptance"
    assert counted.queries == ["current_state"]


async def test_intake_answers_routed_and_the_assigned_mediator_reads_and_accepts_at_once(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await post_case(http, tokens["officer"], intake_json())
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["status"] == "awaiting_acceptance"
    assert case["assignment"]["org_id"] == "fe-sanmiao-qijian"
    mediator = assignee(tokens, case)
    # No waiting: the assignment the intake answered with is what every read shows.
    seen = await http.get(f"/api/v1/cases/{case['case_id']}", headers=auth(mediator))
    assert seen.status_code == 200, seen.text
    assert seen.json()["assignment"] == case["assignment"]
    assert "accept" in seen.json()["allowed_actions"]
    body = {"mediator_id": case["assignment"]["mediator_id"]}
    accepted = await command(http, mediator, case["case_id"], "accept", body)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "in_mediation"
    again = await http.get(f"/api/v1/cases/{case['case_id']}", headers=auth(tokens["officer"]))
    assert again.json()["status"] == "in_mediation"


async def test_a_collective_case_answers_with_the_supervisor_and_an_assignment_is_read_at_once(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await post_case(http, tokens["officer"], intake_json(headcount=30))
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["status"], case["assignment"]) == ("awaiting_supervisor", None)
    cid, mediator = case["case_id"], tokens["mediator_union"]
    # Not theirs yet: the union's mediator cannot see it.
    hidden = await http.get(f"/api/v1/cases/{cid}", headers=auth(mediator))
    assert hidden.status_code == 404
    assign = {"org_id": "union-labor", "reason": "集体纠纷：指定工会调委会"}
    assigned = await command(http, tokens["supervisor"], cid, "assign", assign)
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignment"]["org_id"] == "union-labor"
    seen = await http.get(f"/api/v1/cases/{cid}", headers=auth(mediator))
    assert seen.status_code == 200, seen.text
    assert seen.json()["status"] == "awaiting_acceptance"
    accepted = await command(http, mediator, cid, "accept", {"mediator_id": "union-labor-m1"})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["assignment"]["mediator_id"] == "union-labor-m1"
