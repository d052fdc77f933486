"""Envelope encryption (DESIGN §9, issue 15): a sealed value opens only where it was put
(its case, table, column and row); a plain value where a sealed one belongs is refused; a
payload moved to another case does not open; a command forged into Temporal without the
keys is refused by the worker."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.converter import ActivitySerializationContext, WorkflowSerializationContext

from core.crypto import KeyringError
from core.envelope import SUBJECT, EnvelopeCodec, SealError
from core.temporal import data_converter
from models.commands import Action, ReasonBody, command_input
from models.enums import CaseStatus
from models.policy import Policy
from models.tables import Party
from store.sealing import opened_parties
from tests.conftest import TEST_DATA_KEYS
from tests.helpers import (
    APPLICANT,
    SUPERVISOR,
    accept_assigned,
    case_id,
    eventually,
    intake,
    open_case,
    state_of,
)


async def two_cases(client: Client, task_queue: str, policy: Policy) -> tuple[str, str]:
    ids = []
    for _ in range(2):
        h = await open_case(client, task_queue, intake(), policy)
        await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
        ids.append(case_id(h))
    return ids[0], ids[1]


def set_phone(engine: Engine, cid: str, position: int, value: str) -> None:
    with Session(engine) as s:
        row = s.exec(select(Party).where(Party.case_id == cid, Party.position == position)).one()
        row.phone = value
        s.add(row)
        s.commit()


def phone(engine: Engine, cid: str, position: int) -> str:
    with Session(engine) as s:
        row = s.exec(select(Party).where(Party.case_id == cid, Party.position == position)).one()
        return row.phone


async def test_a_sealed_value_opens_only_in_its_own_place(
    client: Client, task_queue: str, engine: Engine, fast_policy: Policy
) -> None:
    a, b = await two_cases(client, task_queue, fast_policy)
    applicants = phone(engine, a, 0)

    def read(cid: str) -> list[str]:
        with Session(engine) as s:
            return [p.phone for p in opened_parties(s, TEST_DATA_KEYS, cid)]

    assert read(a)[0] == APPLICANT.phone
    set_phone(engine, a, 1, applicants)  # to the other party of the same case
    with pytest.raises(SealError, match="does not open for this row"):
        read(a)
    set_phone(engine, b, 0, applicants)  # to the same place in another case
    with pytest.raises(SealError, match="does not open for this row"):
        read(b)
    set_phone(engine, b, 0, APPLICANT.phone)  # in clear
    with pytest.raises(SealError, match="not sealed"):
        read(b)


async def test_a_payload_moved_to_another_case_does_not_open(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    a, b = await two_cases(client, task_queue, fast_policy)
    codec = EnvelopeCodec(TEST_DATA_KEYS)
    ctx = WorkflowSerializationContext(namespace=client.namespace, workflow_id=f"case-{a}")
    (sealed,) = await codec.with_context(ctx).encode([Payload(data=b'"secret"')])
    assert (await codec.decode([sealed]))[0].data == b'"secret"'
    sealed.metadata[SUBJECT] = f"case-{b}".encode()
    with pytest.raises(KeyringError, match="does not open"):
        await codec.decode([sealed])


async def test_the_data_converter_seals_each_case_with_its_own_key_however_often_asked(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    """The converter remembers its clone per context (core/temporal.py): asked again for
    case A it seals with A's key, and case B's clone never seals with A's."""
    a, b = await two_cases(client, task_queue, fast_policy)
    dc = data_converter(TEST_DATA_KEYS)

    def ctx(cid: str) -> WorkflowSerializationContext:
        return WorkflowSerializationContext(namespace=client.namespace, workflow_id=f"case-{cid}")

    for cid in (a, b, a, b):
        (sealed,) = await dc.with_context(ctx(cid)).encode(["secret"])
        assert sealed.metadata[SUBJECT] == f"case-{cid}".encode()
        assert await dc.decode([sealed], [str]) == ["secret"]
    assert dc.with_context(ctx(a)) is dc.with_context(ctx(a))
    assert dc.with_context(ctx(a)) is not dc.with_context(ctx(b))
    # An activity of case B (each activity is a context of its own) seals with B's key.
    activity = ActivitySerializationContext(
        namespace=client.namespace,
        workflow_id=f"case-{b}",
        workflow_type="MediationCaseWorkflow",
        activity_type="persist_intake",
        activity_id="7",
        activity_task_queue=task_queue,
        is_local=True,
    )
    (sealed,) = await dc.with_context(activity).encode(["secret"])
    assert sealed.metadata[SUBJECT] == f"case-{b}".encode()
    assert dc.with_context(activity) is dc.with_context(ctx(b))


async def test_an_update_forged_in_plaintext_is_refused_by_the_worker(
    client: Client, task_queue: str, fast_policy: Policy
) -> None:
    h = await open_case(client, task_queue, intake(), fast_policy)
    await eventually(h, lambda s: s.status is CaseStatus.awaiting_acceptance)
    forger = Client(client.service_client, namespace=client.namespace)  # no codec, no keys
    before = await state_of(h)
    # A well-formed command, sent without the envelope: the pydantic converter alone.
    forged = command_input(Action.withdraw, ReasonBody(reason="forged"), SUPERVISOR)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await forger.get_workflow_handle(h.id).execute_update(
            Action.withdraw.update_name, forged.model_dump(mode="json")
        )
    # The worker says why, sealed: the forger cannot read it, the keys can.
    failure = getattr(refused.value.cause, "failure", None)
    assert failure is not None
    assert "not sealed" not in str(refused.value.cause)
    why: BaseException | None = await client.data_converter.decode_failure(failure)
    chain = []
    while why is not None:
        chain.append(str(why))
        why = getattr(why, "cause", None) or why.__cause__
    assert any("the payload was not sealed by the case codec" in c for c in chain), chain
    after = await state_of(h)
    assert after.status is before.status and after.seq == before.seq
    accepted = await accept_assigned(h)  # a sealed command still works
    assert accepted.status is CaseStatus.in_mediation
