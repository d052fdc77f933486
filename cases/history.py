"""A case's Temporal event history, decoded with the production data converter and told as a
story people read: what happened, when, and on whose command.

Used by `GET /cases/{id}/history` and `mediation history`. The raw form decodes every
payload in place (the supervisors' view); `export` keeps the history exactly as Temporal
stores it, in the format of `temporal workflow show --output json`, for the replay gate.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import groupby
from typing import Any

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from models.case import CaseInput, CaseState, StepReceipt, StepRecord
from models.commands import ACTION_OF_UPDATE, INPUT_OF

E = EventType


class HistoryEntry(BaseModel):
    event_id: int
    at: datetime
    kind: str  # workflow | step | command | timer | activity | problem
    what: str
    actor_id: str | None = None
    actor_role: str | None = None
    step: str | None = None  # for kind == "step": the timeline row's kind
    seq: int | None = None  # for kind == "step": the timeline row's number
    run: int = 1  # which run of the workflow (a case that continued as new has several)
    # What happened as a code (with `step`), for readers in other languages (the console):
    # started | continued | completed | terminated | continued_as_new | ended | command |
    # timer_set | timer_fired | retrying | failed
    code: str | None = None
    action: str | None = None  # for kind == "command": the command (an `Action` value)
    fires_at: datetime | None = None  # for code == "timer_set"


STEP_TEXT = {
    "intake": "case registered",
    "risk_alert": "red-risk alert raised (police liaison, duty supervisor)",
    "risk_escalation": "risk alert not acknowledged in time: escalated again",
    "risk_acknowledged": "risk alert acknowledged",
    "risk_changed": "risk level changed",
    "acceptance_reminder": "acceptance reminder sent",
    "acceptance_timeout": "not accepted in time",
    "declined": "declined by the mediator",
    "supervisor_escalation": "sent to the supervisor queue",
    "supervisor_reminder": "supervisor reminded",
    "session": "mediation session held",
    "deadline_reminder": "mediation deadline approaching: reminder sent",
    "arbitration_notice": "arbitration rights notice sent",
    "extension": "mediation period extended",
    "agreement": "agreement recorded",
    "judicial_confirmation": "judicial confirmation recorded",
    "judicial_window_closed": "judicial confirmation window closed",
    "follow_up_due": "follow-up due",
    "follow_up_overdue": "follow-up overdue: reminder sent",
    "follow_up": "follow-up visit recorded",
    "reopened": "reopened for mediation",
}


def _at(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _receipt_text(receipt: StepReceipt) -> str:
    step, a = receipt.step.value, receipt.assignment
    if step == "assignment" and a is not None:
        who = f" ({a.mediator_name})" if a.mediator_name else ""
        return f"assigned to {a.org_name}{who}"
    if step == "accepted" and a is not None:
        return f"accepted by {a.mediator_name or a.mediator_id} of {a.org_name}"
    if step == "risk_screening":
        return f"risk screened: {receipt.risk_level.value}"
    if step == "closure":
        outcome = receipt.outcome.value if receipt.outcome else "none"
        return f"case closed: {outcome}"
    if step == "follow_up" and receipt.result:
        return f"follow-up visit recorded: {receipt.result}"
    return STEP_TEXT.get(step, step.replace("_", " "))


async def fetch(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    """Every run of the case still kept, oldest first: the latest, then back along each
    run's `continued_execution_run_id` (no dependence on the visibility store's lag)."""
    runs = [await client.get_workflow_handle(workflow_id).fetch_history()]
    while True:
        started = runs[0].events[0].workflow_execution_started_event_attributes
        previous = started.continued_execution_run_id
        if not previous:
            return runs
        try:
            older = client.get_workflow_handle(workflow_id, run_id=previous)
            runs.insert(0, await older.fetch_history())
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
            return runs  # older runs are past Temporal's retention


async def summarise_runs(
    runs: list[WorkflowHistory], converter: DataConverter
) -> list[HistoryEntry]:
    return [e for n, h in enumerate(runs, start=1) for e in await summarise(h, converter, n)]


async def summarise(
    history: WorkflowHistory, converter: DataConverter, run: int = 1
) -> list[HistoryEntry]:
    """One entry per thing a person cares about, in event order."""
    entries: list[HistoryEntry] = []
    timers: dict[int, str] = {}  # TimerStarted event id → what the timer is for
    activities: dict[int, str] = {}  # ActivityTaskScheduled event id → activity type

    def add(ev: HistoryEvent, kind: str, what: str, **kw: Any) -> None:
        kw.setdefault("at", _at(ev))
        entries.append(HistoryEntry(event_id=ev.event_id, kind=kind, what=what, run=run, **kw))

    for ev in history.events:
        t = ev.event_type
        if t == E.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            a = ev.workflow_execution_started_event_attributes
            (inp,) = await converter.decode(a.input.payloads, [CaseInput])
            by = inp.registered_by
            what = f"workflow started for case {inp.case_no}"
            if a.continued_execution_run_id:
                what = f"run {run} of case {inp.case_no}: its state and clocks carried over"
            code = "continued" if a.continued_execution_run_id else "started"
            add(ev, "workflow", what, actor_id=by.principal_id, actor_role=by.role, code=code)
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a2 = ev.activity_task_scheduled_event_attributes
            name = a2.activity_type.name
            activities[ev.event_id] = name
            if name.startswith("persist_"):
                (rec,) = await converter.decode(a2.input.payloads, [StepRecord])
                _add_step(ev, add, StepReceipt.of(rec, written=True))
        elif t == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            a3 = ev.activity_task_started_event_attributes
            if a3.attempt > 1:
                name = activities.get(a3.scheduled_event_id, "activity")
                cause = _failure_type(a3.last_failure)
                what = f"activity {name} failed {a3.attempt - 1} time(s), retrying ({cause})"
                add(ev, "problem", what, code="retrying")
        elif t in (E.EVENT_TYPE_ACTIVITY_TASK_FAILED, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
            a4 = (
                ev.activity_task_failed_event_attributes
                if t == E.EVENT_TYPE_ACTIVITY_TASK_FAILED
                else ev.activity_task_timed_out_event_attributes
            )
            name = activities.get(a4.scheduled_event_id, "activity")
            what = f"activity {name} failed for good ({_failure_type(a4.failure)})"
            add(ev, "problem", what, code="failed")
        elif t == E.EVENT_TYPE_MARKER_RECORDED:
            await _local_activity(ev, converter, add)
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            req = ev.workflow_execution_update_accepted_event_attributes.accepted_request
            action = ACTION_OF_UPDATE.get(req.input.name)
            if action is None:  # intake's registration Update: the start says it already
                continue
            (cmd,) = await converter.decode(req.input.args.payloads, [INPUT_OF[action]])
            what = f"command '{action.value}'"
            actor = cmd.actor
            add(
                ev,
                "command",
                what,
                actor_id=actor.principal_id,
                actor_role=actor.role,
                code="command",
                action=action.value,
            )
        elif t == E.EVENT_TYPE_TIMER_STARTED:
            named = await _summary(ev, converter)
            what = f"{named} timer" if named else "timer"
            timers[ev.event_id] = what
            fires = ev.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
            at = _at(ev) + fires
            add(
                ev, "timer", f"{what} set, fires at {at.isoformat()}", code="timer_set", fires_at=at
            )
        elif t == E.EVENT_TYPE_TIMER_FIRED:
            started = ev.timer_fired_event_attributes.started_event_id
            add(ev, "timer", f"{timers.get(started, 'timer')} fired", code="timer_fired")
        elif t == E.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            cause = _failure_type(ev.workflow_task_failed_event_attributes.failure)
            add(ev, "problem", f"workflow task failed, retrying ({cause})", code="retrying")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
            result = ev.workflow_execution_completed_event_attributes.result.payloads
            (state,) = await converter.decode(result, [CaseState])
            outcome = state.outcome.value if state.outcome else "none"
            add(ev, "workflow", f"workflow completed (outcome {outcome})", code="completed")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            reason = ev.workflow_execution_terminated_event_attributes.reason
            what = f"workflow terminated by an operator ({reason})"
            add(ev, "workflow", what, code="terminated")
        elif t == E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            what = "history long enough: the case continues in a new run"
            add(ev, "workflow", what, code="continued_as_new")
        elif t in (
            E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
            E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        ):
            what = E.Name(t).removeprefix("EVENT_TYPE_").lower().replace("_", " ")
            add(ev, "workflow", what, code="ended")
    return steps_in_order(entries)


def steps_in_order(entries: list[HistoryEntry]) -> list[HistoryEntry]:
    """Steps written side by side (a visit and the closure it brings) are recorded in
    history as their writes finished, in either order; each run of steps in a row is told
    in the order they were numbered, as the timeline has them."""
    told: list[HistoryEntry] = []
    for are_steps, group in groupby(entries, key=lambda e: e.kind == "step"):
        run = list(group)
        told += sorted(run, key=lambda e: e.seq or 0) if are_steps else run
    return told


LOCAL_ACTIVITY_MARKER = "core_local_activity"


async def _local_activity(ev: HistoryEvent, converter: DataConverter, add: Any) -> None:
    """A step run as a local activity: its marker holds the activity's type and its result
    (a StepReceipt for the persistence steps), or its failure."""
    attrs = ev.marker_recorded_event_attributes
    if attrs.marker_name != LOCAL_ACTIVITY_MARKER or "data" not in attrs.details:
        return
    meta = json.loads(attrs.details["data"].payloads[0].data)  # written by the SDK, plain
    name = str(meta.get("activity_type", "activity"))
    if attrs.HasField("failure"):
        what = f"activity {name} failed for good ({_failure_type(attrs.failure)})"
        add(ev, "problem", what, code="failed")
        return
    attempts = int(meta.get("attempt", 1))
    if attempts > 1:  # the failed attempts' errors are in the worker's log, not in history
        what = f"activity {name} failed {attempts - 1} time(s) before it succeeded"
        add(ev, "problem", what, code="retrying")
    if not name.startswith("persist_") or "result" not in attrs.details:
        return
    (receipt,) = await converter.decode(attrs.details["result"].payloads, [StepReceipt])
    _add_step(ev, add, receipt)


def _add_step(ev: HistoryEvent, add: Any, receipt: StepReceipt) -> None:
    """A step, whether told by its scheduled activity's input (older histories) or by its
    local activity's result."""
    add(
        ev,
        "step",
        _receipt_text(receipt),
        at=receipt.occurred_at,
        step=receipt.step.value,
        seq=receipt.seq,
        code="step",
        actor_id=receipt.actor.principal_id,
        actor_role=receipt.actor.role,
    )


def _failure_type(failure: Failure) -> str:
    """The error's type only: its message may quote personal data, and it is encrypted in
    history anyway (supervisors read it decoded with ?raw=true)."""
    if failure.HasField("application_failure_info") and failure.application_failure_info.type:
        return failure.application_failure_info.type
    if failure.HasField("timeout_failure_info"):
        return "timeout"
    return "error"


async def _summary(ev: HistoryEvent, converter: DataConverter) -> str | None:
    if not ev.HasField("user_metadata") or not ev.user_metadata.HasField("summary"):
        return None
    (text,) = await converter.decode([ev.user_metadata.summary], [str])
    return str(text)


# --- raw, decoded ---------------------------------------------------------------------------


async def decoded_events(
    history: WorkflowHistory, converter: DataConverter
) -> list[dict[str, Any]]:
    """Every event as JSON, each payload replaced by the value it holds."""
    out = []
    for ev in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(ev)
        if converter.payload_codec is not None:
            await _codec_decode_in_place(copy, converter)
        out.append(_json_payloads(MessageToDict(copy)))
    return out


def _payloads_in(msg: Message) -> list[Payload]:
    found: list[Payload] = []
    for field, value in msg.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            items: Sequence[Any] = list(value.values())
        elif field.is_repeated:
            items = list(value)
        else:
            items = [value]
        for item in items:
            if isinstance(item, Payload):
                found.append(item)
            elif isinstance(item, Message):
                found.extend(_payloads_in(item))
    return found


async def _codec_decode_in_place(msg: Message, converter: DataConverter) -> None:
    assert converter.payload_codec is not None
    payloads = _payloads_in(msg)
    if payloads:
        decoded = await converter.payload_codec.decode(payloads)
        for target, value in zip(payloads, decoded, strict=True):
            target.CopyFrom(value)


def _json_payloads(node: Any) -> Any:
    if isinstance(node, dict):
        meta = node.get("metadata")
        if isinstance(meta, dict) and "encoding" in meta and set(node) <= {"metadata", "data"}:
            encoding = base64.b64decode(meta["encoding"]).decode(errors="replace")
            data = base64.b64decode(node.get("data", ""))
            if encoding == "json/plain":
                return json.loads(data) if data else None
            if encoding == "binary/null":
                return None
            return {"encoding": encoding, "bytes": len(data)}
        return {k: _json_payloads(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_json_payloads(v) for v in node]
    return node


def export_json(history: WorkflowHistory) -> str:
    """As stored (payloads still encoded): what `temporal workflow show --output json` writes."""
    return history.to_json()
