"""The retention schedule's workflow (DESIGN §9): one activity that erases the closed cases
whose retention ended. Started by a Temporal schedule (worker.py keeps it in place)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

RETENTION_WORKFLOW = "RetentionSweep"


@workflow.defn(name=RETENTION_WORKFLOW)
class RetentionSweep:
    @workflow.run
    async def run(self) -> int:
        return await workflow.execute_activity(
            "erase_expired_cases",
            workflow.now(),
            result_type=int,
            start_to_close_timeout=timedelta(minutes=10),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=5), maximum_attempts=5),
        )
