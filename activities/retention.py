"""The retention job's one activity (DESIGN §9): erase every closed case whose policy's
retention ended. Run by the retention schedule's workflow (workflows/retention.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog
from sqlalchemy import Engine
from temporalio import activity

from core.envelope import DataKeys
from models.enums import ErasureBasis
from store.erasure import NotErasable, due_for_erasure, erase_case, workflow_finished

log = structlog.get_logger("retention")
SYSTEM_ACTOR = "system:retention"


class RetentionActivities:
    def __init__(self, engine: Engine, keys: DataKeys) -> None:
        self.engine, self.keys = engine, keys

    @activity.defn(name="erase_expired_cases")
    async def erase_expired_cases(self, now: datetime) -> int:
        """How many cases it erased; `now` is the workflow's time, so a retry agrees."""
        erased = 0
        client = activity.client()
        due = await asyncio.to_thread(due_for_erasure, self.engine, now)
        for case_id, workflow_id in due:
            if not await workflow_finished(client, workflow_id):
                continue  # its judicial-confirmation window still runs: next time
            try:
                done = await asyncio.to_thread(
                    erase_case,
                    self.engine,
                    self.keys,
                    case_id,
                    ErasureBasis.retention_period_ended,
                    SYSTEM_ACTOR,
                    audit=True,
                )
            except NotErasable:
                continue
            erased += not done.already
            log.info("case erased", case_id=case_id, basis="retention_period_ended")
        return erased
