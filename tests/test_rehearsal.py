"""`make rehearse` — the deploy/ topology as processes, with kills — passes on
PostgreSQL (run in the PostgreSQL pass of the suite, where that server is given)."""

from __future__ import annotations

import pytest

from ops.rehearse import SCENARIOS, run_rehearsal
from tests.conftest import PG_URL


@pytest.mark.skipif(not PG_URL, reason="the rehearsal runs on PostgreSQL (CI's second pass)")
def test_rehearsal_with_a_worker_and_an_api_killed_mid_run() -> None:
    assert PG_URL is not None
    result = run_rehearsal(cases=24, admin_url=PG_URL, concurrency=8)
    assert result.ok, result.report()
    assert result.kills == ["worker-1", "api-1"] and result.failovers > 0
    assert set(result.outcomes) == {outcome for *_, outcome in SCENARIOS.values()}
    assert result.events > 24 * 3  # every case has its intake, screening and routing rows
