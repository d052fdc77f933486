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
from core.temporal import data_converter
from models.case import PartyIn, StepRecord
from models.commands import Action, ReasonBody
from models.enums import CaseStatus, PartyRole
from models.policy import Policy
from models.tables import Party
from store.steps import CaseStore
from tests.conftest import TEST_KEYRING, TEST_KEYS, repo_root
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


async def test_key_rotation_old_cases_finish_and_old_keys_stay_needed(
    client: Client,
    engine: Engine,
    fast_policy: Policy,
    activity_executor: ThreadPoolExecutor,
) -> None:
    k1, k2 = (Keyring.generate_line(k) for k in ("k1", "k2"))
    rings = {
        "k1": Keyring.parse(k1),
        "k2,k1": Keyring.parse(f"{k2},{k1}"),
        "k2": Keyring.parse(k2),
    }

    def client_with(ring: str) -> Client:
        return Client(
            client.service_client,
            namespace=client.namespace,
            data_converter=data_converter(rings[ring]),
        )

    queue = f"rotation-{uuid.uuid4().hex[:10]}"
    old = client_with("k1")
    async with build_worker(old, engine, rings["k1"], queue, activity_executor):
        h = await open_case(old, queue, intake(), fast_policy)
        await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)

    new = client_with("k2,k1")
    async with build_worker(new, engine, rings["k2,k1"], queue, activity_executor):
        h = new.get_workflow_handle(h.id)
        await accept_assigned(h)
        await act(h, Action.terminate, ReasonBody(reason="轮换后终止"))
        closed = await eventually(h, lambda s: s.status is CaseStatus.closed)
        assert closed.outcome is not None

    plain = Client(client.service_client, namespace=client.namespace)
    raw = export_json(await plain.get_workflow_handle(h.id).fetch_history())
    key_ids = {
        base64.b64decode(p["metadata"]["encryption-key-id"]).decode()
        for p in payloads(json.loads(raw))
    }
    assert key_ids == {"k1", "k2"}  # written under both; read with the ring {k2, k1}

    with pytest.raises(Exception, match="'k1', which is not in the keyring"):
        only_k2 = client_with("k2")
        await summarise(
            await only_k2.get_workflow_handle(h.id).fetch_history(), only_k2.data_converter
        )

    # The store's sealed phone numbers follow the same ring.
    with Session(engine) as s:
        sealed = s.exec(select(Party.phone).where(Party.case_id == case_id(h))).first()
    assert sealed is not None and sealed.startswith("enc:k1:")
    assert rings["k2,k1"].open(sealed) == APPLICANT.phone
    with pytest.raises(KeyringError, match="not in the keyring"):
        rings["k2"].open(sealed)
    # `mediation reseal` moves the store to k2, after which k1 can leave the ring. (This
    # module's store also holds the suite's test1 rows, hence test1 in this ring.)
    ring = Keyring.parse(f"{k2},{k1},{TEST_KEYS.strip().splitlines()[-1]}")
    assert CaseStore(engine, ring).reseal_parties() >= 2
    assert CaseStore(engine, ring).reseal_parties() == 0
    with Session(engine) as s:
        resealed = s.exec(select(Party.phone).where(Party.case_id == case_id(h))).first()
    assert resealed is not None and resealed.startswith("enc:k2:")
    assert rings["k2"].open(resealed) == APPLICANT.phone


async def test_store_holds_phone_and_id_numbers_sealed(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    await h.terminate("test over")
    with Session(engine) as s:
        rows = s.exec(select(Party).where(Party.case_id == case_id(h))).all()
    assert [(r.name, TEST_KEYRING.open(r.phone), TEST_KEYRING.open(r.id_number)) for r in rows] == [
        (p.name, p.phone, p.id_number) for p in (APPLICANT, RESPONDENT)
    ]
    for row in rows:
        assert row.phone.startswith("enc:test1:") and row.phone != APPLICANT.phone
        assert row.id_number is not None and row.id_number.startswith("enc:test1:")


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
