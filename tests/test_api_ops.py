"""What operators use — health, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import httpx

from models.commands import Action
from tests.api_helpers import (
    assignee,
    auth,
    command,
    intake_json,
    poll_case,
    post_case,
    status_is,
)
from tests.helpers import APPLICANT, RESPONDENT


async def test_health_and_readiness(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "temporal": "ok"}


async def test_metrics_count_requests_by_route_and_relay_the_sdk(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await post_case(http, tokens["officer"], intake_json())
    assert r.status_code == 201
    cid = r.json()["case_id"]
    await http.get(f"/api/v1/cases/{cid}", headers=auth(tokens["officer"]))
    await http.get(f"/api/v1/cases/{cid}")  # 401

    m = await http.get("/metrics")
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.text
    assert 'mediation_http_requests_total{method="POST",route="/api/v1/cases",status="201"}' in text
    assert 'route="/api/v1/cases/{case_id}",status="401"' in text
    assert "mediation_http_request_duration_seconds_bucket" in text
    assert cid not in text  # route templates, not paths
    # The Temporal SDK's own series (client requests, worker task latencies).
    assert "temporal_request" in text and "temporal_workflow_task" in text


async def test_openapi_describes_every_route(http: httpx.AsyncClient) -> None:
    doc = (await http.get("/openapi.json")).json()
    paths = doc["paths"]
    for action in Action:
        op = paths[f"/api/v1/cases/{{case_id}}/{action.value}"]["post"]
        assert {"200", "401", "403", "404", "409", "422"} <= set(op["responses"]), action
        assert op["requestBody"]["required"] is True
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/timeline",
        "/api/v1/cases/{case_id}/notifications",
        "/api/v1/organizations",
        "/api/v1/mediators",
        "/api/v1/stats",
        "/healthz",
        "/readyz",
        "/metrics",
    ):
        assert path in paths, path
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert (await http.get("/docs")).status_code == 200


# What the schema cannot say, and schemathesis therefore reports (README, "The contract"):
# a generated Idempotency-Key that repeats with another body (422 by design, DESIGN §6),
# and an organisation or mediator id the roster does not hold (the roster is data).
KNOWN_REFUSALS = (
    ("", "this Idempotency-Key was already used with another request"),
    ("/assign", "body.org_id: unknown organisation"),
    ("/assign", "body.mediator_id: "),
    # A case the generated `POST /erase` erased: its history no longer opens (DESIGN §9).
    ("/history", "[410] Gone"),
)


def unlisted_failures(report: str) -> list[str]:
    """Each failure schemathesis printed whose operation and answer are not KNOWN_REFUSALS."""
    unlisted = []
    for block in re.split(r"\n_{5,} (?=[A-Z]+ /)", report)[1:]:
        operation = block.split(" _", 1)[0]
        for failure in re.split(r"\n\d+\. Test Case ID", block)[1:]:
            known = any(
                operation.endswith(path) and detail in failure for path, detail in KNOWN_REFUSALS
            )
            if not known:
                unlisted.append(f"{operation}: {failure[:3000]}")
    return unlisted


async def test_schemathesis_with_every_check_and_phase_finds_only_the_listed_refusals(
    api_url: str, tokens: dict[str, str], tmp_path: Path
) -> None:
    """Property-based requests from /openapi.json (examples, coverage, fuzzing and the
    stateful phase that chains the links between operations), every check, with a real
    token, aimed at a real open case (else every case route would only ever answer 404).

    The run is seeded (reproducible) and bounded; its report lands in the tmp dir. One
    worker: hypothesis describes its filters by parsing source, which is not thread-safe on
    Python 3.11 (a SystemError seen with two)."""
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as http:
        r = await post_case(http, tokens["supervisor"], intake_json())
        assert r.status_code == 201
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\n"path.case_id" = "{r.json()["case_id"]}"\n')
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(config),
        "run",
        f"{api_url}/openapi.json",
        "--header",
        f"Authorization: Bearer {tokens['supervisor']}",
        "--checks",
        "all",
        "--mode",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        "15",
        "--seed",
        "20261127",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        # How fast the API answers is make bench's to measure, not this test's: it shares
        # its process and two cores with the worker and the Temporal server, and CI saw
        # one list answer take 10.9 s against schemathesis' default limit of 10 s (a GET
        # that never took over 1 s in four local runs of the API modules). The check
        # stays for an answer that all but hangs.
        "--max-response-time",
        "25",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,  # its cache directory goes there, not into the checkout
    )
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    assert "Runtime Error" not in text, text[-6000:]
    assert re.search(r"(✅|❌) Stateful", text), text[-3000:]  # the phase ran
    unlisted = unlisted_failures(text)
    assert unlisted == [], "\n\n".join(unlisted)
    # Failures, and warnings such as "repeatedly returned 404" for a case's follow-up record
    # (the case under test has had no visit), are in the summary: none of them unlisted.
    assert proc.returncode == 0 or re.search(r"\d+ failures?[ ,]", text), text[-6000:]


async def test_no_log_line_of_the_session_holds_personal_data(
    http: httpx.AsyncClient, tokens: dict[str, str], log_lines: list[str]
) -> None:
    """Runs last in the API suite: its own case through intake, a refused body carrying a
    phone number, reads by several roles and a closure; then every log record captured in
    this session (API, worker, workflows, activities, Temporal SDK) is scanned."""
    before = len(log_lines)
    officer = tokens["officer"]
    r = await post_case(http, officer, intake_json())
    cid = r.json()["case_id"]
    case = await poll_case(http, officer, cid, status_is("awaiting_acceptance"))
    mediator = assignee(tokens, case)
    await http.get(f"/api/v1/cases/{cid}", headers=auth(mediator))
    bad = {"reason": "x", "phone": APPLICANT.phone, "id_number": APPLICANT.id_number}
    assert (await command(http, officer, cid, "withdraw", bad)).status_code == 422
    r = await command(
        http, mediator, cid, "accept", {"mediator_id": case["assignment"]["mediator_id"]}
    )
    assert r.status_code == 200
    r = await command(http, mediator, cid, "terminate", {"reason": "无法达成"})
    assert r.status_code == 200

    ours = [line for line in log_lines[before:] if cid in line]
    assert any("uvicorn.access" in line for line in ours)  # the capture sees the API...
    assert any("temporalio.workflow" in line for line in ours)  # ...and the workflow
    secrets = [
        s for p in (APPLICANT, RESPONDENT) for s in (p.name, p.phone, p.id_number, p.address) if s
    ]
    leaks = [line[:300] for line in log_lines if any(s in line for s in secrets)]
    assert not leaks, leaks[:5]
    assert len(log_lines) > 50
