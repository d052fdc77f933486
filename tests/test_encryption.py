"""Personal data stays protected — encrypted histories, failures and store fields;
key rotation; redacted logs."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.client import Client

from cases.history import export_json, summarise
from core.crypto import Keyring, KeyringError
from core.envelope import DataKeys
from core.temporal import data_converter
from models.case import PartyIn, StepRecord
from models.commands import Action, ReasonBody
from models.enums import CaseStatus, PartyRole
from models.policy import Policy
from models.tables import Case, CaseEvent, Party
from store.sealing import opened_parties
from store.steps import CaseStore
from tests.conftest import TEST_DATA_KEYS, TEST_KEYS, repo_root
from tests.helpers import (
    APPLICANT,
    RESPONDENT,
    accept_assigned,
    act,
    case_id,
    eventually,
    intake,
    open_case,
)
from worker import build_worker

RISK_WORDS = ["跳楼", "自杀", "同归于尽", "家暴", "打人", "威胁", "杀", "刀"]
WITH_ADDRESS = PartyIn(
    role=PartyRole.respondent,
    name="测试丙",
    phone="13800000003",
    id_number="50038219900303003X",
    address="合川区三庙镇七间社区八组",
)
SECRETS = [
    s
    for p in (APPLICANT, RESPONDENT, WITH_ADDRESS)
    for s in (p.name, p.phone, p.id_number, p.address)
    if s
]


# The SDK's own bookkeeping in markers (a local activity's type, attempt and times; a
# patch's id): written by the SDK in plain JSON, past the codec. Only these keys, ever.
SDK_MARKER_DATA = {"data", "patch-data"}
SDK_MARKER_KEYS = {
    "seq",
    "attempt",
    "activity_id",
    "activity_type",
    "complete_time",
    "backoff",
    "original_schedule_time",
    "activation_index",
    "id",
    "deprecated",
}


def payloads(node: Any) -> Iterator[dict[str, Any]]:
    """Every payload in a history's JSON, except search attributes (indexed, never personal,
    and unencryptable by design: the server must read them) and the SDK's marker data,
    which must hold nothing but SDK_MARKER_KEYS."""
    if isinstance(node, dict):
        meta = node.get("metadata")
        if isinstance(meta, dict) and "encoding" in meta:
            yield node
            return
        for key, value in node.items():
            if key == "markerRecordedEventAttributes":
                details = value.get("details", {})
                for name, entry in details.items():
                    if name in SDK_MARKER_DATA:
                        for p in entry["payloads"]:
                            data = json.loads(base64.b64decode(p["data"]))
                            assert set(data) <= SDK_MARKER_KEYS, data
                    else:
                        yield from payloads(entry)
                yield from payloads(value.get("failure", {}))
            elif key not in ("searchAttributes", "indexedFields"):
                yield from payloads(value)
    elif isinstance(node, list):
        for value in node:
            yield from payloads(value)


def encoding(payload: dict[str, Any]) -> str:
    return base64.b64decode(payload["metadata"]["encoding"]).decode()


def assert_sealed(history_json: str, where: str) -> None:
    for secret in [*SECRETS, *RISK_WORDS]:
        assert secret not in history_json, f"{secret!r} in {where}"
    found = list(payloads(json.loads(history_json)))
    assert found, where
    assert {encoding(p) for p in found} == {"binary/encrypted"}, where


def test_committed_histories_are_encrypted_through_and_through() -> None:
    files = sorted((repo_root() / "tests" / "histories").glob("*/*.json"))
    assert len(files) >= 12
    for path in files:
        assert_sealed(path.read_text(encoding="utf-8"), path.name)


async def test_a_red_risk_case_leaves_nothing_readable_in_raw_history(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    req = intake(summary="丈夫家暴，扬言要跳楼，持刀威胁")
    req.parties.append(WITH_ADDRESS)
    h = await open_case(client, task_queue, req, fast_policy)
    await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance and s.risk_alert_open)
    await h.terminate("test over")
    plain = Client(client.service_client, namespace=client.namespace)  # no codec
    raw = await plain.get_workflow_handle(h.id).fetch_history()
    assert_sealed(export_json(raw), "the live history")


async def test_an_activity_failing_with_personal_data_leaves_none_in_history_or_logs(
    client: Client,
    task_queue: str,
    fast_policy: Policy,
    monkeypatch: pytest.MonkeyPatch,
    log_lines: list[str],
) -> None:
    real = CaseStore.record_step
    failed: list[str] = []

    def flaky(self: CaseStore, record: StepRecord) -> bool:
        if record.step.value == "risk_screening" and not failed:
            failed.append(record.state.case_id)
            raise RuntimeError(
                f"cannot store {APPLICANT.name} {APPLICANT.phone} {APPLICANT.id_number}"
            )
        return real(self, record)

    monkeypatch.setattr(CaseStore, "record_step", flaky)
    before = len(log_lines)
    h = await open_case(client, task_queue, intake(), fast_policy)
    await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    await h.terminate("test over")
    assert failed == [case_id(h)]

    plain = Client(client.service_client, namespace=client.namespace)
    raw = export_json(await plain.get_workflow_handle(h.id).fetch_history())
    assert_sealed(raw, "history with a failed activity")
    # A local activity's failed attempts stay in the worker (its log, redacted); its marker
    # counts them, and the story says so.
    entries = await summarise(await h.fetch_history(), client.data_converter)
    assert any("persist_risk_screening failed 1 time(s)" in e.what for e in entries), [
        e.what for e in entries
    ]

    ours = log_lines[before:]
    assert any("RuntimeError" in line for line in ours)  # the failure was logged...
    leaks = [line[:200] for line in ours if any(s in line for s in SECRETS)]
    assert not leaks, leaks  # ...masked


async def test_rotating_the_keyring_rewraps_data_keys_and_never_touches_data(
    client: Client,
    engine: Engine,
    fast_policy: Policy,
    activity_executor: ThreadPoolExecutor,
) -> None:
    k1, k2 = (Keyring.generate_line(k) for k in ("k1", "k2"))
    test1 = TEST_KEYS.strip().splitlines()[-1]  # this module's other cases' keys
    rings = {
        "k1": f"{k1},{test1}",
        "k2,k1": f"{k2},{k1},{test1}",
        "k2": f"{k2},{test1}",
    }

    def keys(ring: str) -> DataKeys:
        return DataKeys(Keyring.parse(rings[ring]), engine)

    def client_with(data_keys: DataKeys) -> Client:
        return Client(
            client.service_client,
            namespace=client.namespace,
            data_converter=data_converter(data_keys),
        )

    queue = f"rotation-{uuid.uuid4().hex[:10]}"
    old_keys = keys("k1")
    old = client_with(old_keys)
    async with build_worker(old, engine, old_keys, queue, activity_executor):
        h = await open_case(old, queue, intake(), fast_policy)
        await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    cid = case_id(h)
    with Session(engine) as s:
        sealed_before = s.exec(select(Party.phone).where(Party.case_id == cid)).all()

    # The ring gains k2: the case goes on (its data key is still wrapped with k1)...
    both = keys("k2,k1")
    new = client_with(both)
    async with build_worker(new, engine, both, queue, activity_executor):
        h = new.get_workflow_handle(h.id)
        await accept_assigned(h)
        await act(h, Action.terminate, ReasonBody(reason="轮换后终止"))
        await eventually(h, lambda s: s.status is CaseStatus.closed)

    # ...and k1 cannot leave before `mediation rewrap`:
    with pytest.raises(KeyringError, match="'k1', which is not in the keyring"):
        await summarise(
            await client_with(keys("k2")).get_workflow_handle(h.id).fetch_history(),
            client_with(keys("k2")).data_converter,
        )
    assert both.rewrap() >= 1
    assert both.rewrap() == 0  # idempotent

    # Now without k1: the history and the store open, and no sealed value changed.
    only_k2 = keys("k2")
    story = await summarise(
        await client_with(only_k2).get_workflow_handle(h.id).fetch_history(),
        client_with(only_k2).data_converter,
    )
    assert story
    with Session(engine) as s:
        assert s.exec(select(Party.phone).where(Party.case_id == cid)).all() == sealed_before
        opened = [(p.name, p.phone) for p in opened_parties(s, only_k2, cid)]
    assert opened == [(p.name, p.phone) for p in (APPLICANT, RESPONDENT)]


async def test_store_holds_personal_fields_sealed(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(h)
    await act(h, Action.terminate, ReasonBody(reason=f"{APPLICANT.name}不愿再调"))
    await eventually(h, lambda s: s.status is CaseStatus.closed)
    cid = case_id(h)
    with Session(engine) as s:
        rows = s.exec(select(Party).where(Party.case_id == cid)).all()
        case = s.get(Case, cid)
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == cid)).all()
        opened = [(p.name, p.phone, p.id_number) for p in opened_parties(s, TEST_DATA_KEYS, cid)]
    assert opened == [(p.name, p.phone, p.id_number) for p in (APPLICANT, RESPONDENT)]
    for row in rows:
        for value in (row.name, row.phone, row.id_number):
            assert value is not None and value.startswith("sealed:")
    assert case is not None and case.summary.startswith("sealed:")
    reasons = [e.detail["reason"] for e in events if "reason" in e.detail]
    assert reasons and all(r.startswith("sealed:") for r in reasons)
    raw = json.dumps([r.model_dump(mode="json") for r in [*rows, *events]], ensure_ascii=False)
    assert APPLICANT.name not in raw and APPLICANT.phone not in raw


async def test_commands_are_encrypted_too(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    """Update arguments (commands from people) are payloads like any other."""
    h = await open_case(client, task_queue, intake(), fast_policy)
    await accept_assigned(h)
    await act(h, Action.terminate, ReasonBody(reason=f"当事人{APPLICANT.name}拒绝"))
    plain = Client(client.service_client, namespace=client.namespace)
    raw = export_json(await plain.get_workflow_handle(h.id).fetch_history())
    assert APPLICANT.name not in raw
    assert_sealed(raw, "history with commands")
