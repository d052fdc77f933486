"""Risk screening rules and capacity/load-aware routing against a real case store."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session

from activities.risk import assess_risk
from activities.routing import RoutingActivities
from models.case import RiskScreeningInput, RouteRequest
from models.enums import DisputeType, RiskFlag, RiskLevel
from models.tables import Case
from tests.helpers import bare_case_row


@pytest.mark.parametrize(
    ("summary", "flags", "headcount", "level"),
    [
        ("扬言要跳楼", [], None, RiskLevel.red),
        ("他说要和对方同归于尽", [], None, RiskLevel.red),
        ("丈夫长期家暴", [], None, RiskLevel.red),
        ("拿着刀在门口", [], None, RiskLevel.red),
        ("threatened to kill the neighbour", [], None, RiskLevel.red),
        ("邻里噪音纠纷", [RiskFlag.weapon], None, RiskLevel.red),
        ("多次威胁要去上访", [], None, RiskLevel.yellow),
        ("工资拖欠", [], 12, RiskLevel.yellow),
        ("赡养老人纠纷", [RiskFlag.elderly], None, RiskLevel.yellow),
        ("楼上漏水", [], None, RiskLevel.green),
        ("工资拖欠", [], 9, RiskLevel.green),
    ],
)
def test_risk_levels(
    summary: str, flags: list[RiskFlag], headcount: int | None, level: RiskLevel
) -> None:
    result = assess_risk(
        RiskScreeningInput(
            summary=summary, risk_flags=flags, headcount=headcount, collective_headcount=10
        )
    )
    assert result.level is level
    assert all(summary not in reason for reason in result.reasons)  # codes, never the words


def _req(**kw: object) -> RouteRequest:
    base = {
        "case_id": "c",
        "dispute_type": DisputeType.family,
        "town": "三庙镇",
        "community": "七间社区",
        "risk_level": RiskLevel.green,
        "risk_flags": [],
    }
    return RouteRequest.model_validate({**base, **kw})


def _open_cases(engine: Engine, mediator_id: str, org_id: str, n: int) -> list[str]:
    ids = [f"load-{mediator_id}-{i}" for i in range(n)]
    with Session(engine) as s:
        for cid in ids:
            s.add(bare_case_row(cid, org_id=org_id, mediator_id=mediator_id))
        s.commit()
    return ids


def test_routing_prefers_the_least_loaded_and_respects_capacity(engine: Engine) -> None:
    routing = RoutingActivities(engine)
    first = routing.route_case(_req())
    assert first.assignment is not None and first.assignment.org_id == "fe-sanmiao-qijian"
    # m1 (capacity 4) carries 3 open cases, m2 (capacity 3) none → m2.
    ids = _open_cases(engine, "fe-sanmiao-qijian-m1", "fe-sanmiao-qijian", 3)
    try:
        pick = routing.route_case(_req())
        assert pick.assignment is not None and pick.assignment.mediator_id == "fe-sanmiao-qijian-m2"
        # Both five-elders mediators excluded → the community's veterans' room.
        pick = routing.route_case(
            _req(excluded_mediators=["fe-sanmiao-qijian-m1", "fe-sanmiao-qijian-m2"])
        )
        assert pick.assignment is not None and pick.assignment.org_id == "vet-sanmiao-qijian"
        # No community studio for this town → the town committee.
        pick = routing.route_case(_req(town="龙市镇", community=None))
        assert pick.assignment is not None and pick.assignment.org_id == "town-longshi"
        # Everybody excluded → no route (the workflow hands the case to supervisors).
        pick = routing.route_case(
            _req(
                dispute_type=DisputeType.labor,
                excluded_mediators=[
                    "union-labor-m1",
                    "union-labor-m2",
                    "union-labor-m3",
                    "town-sanmiao-m1",
                    "town-sanmiao-m2",
                ],
            )
        )
        assert pick.assignment is None
    finally:
        with Session(engine) as s:
            s.execute(delete(Case).where(Case.id.in_(ids)))  # type: ignore[attr-defined]
            s.commit()


def test_routing_asked_again_for_the_same_step_answers_as_it_did(engine: Engine) -> None:
    """A worker that dies before its workflow task completes runs routing again (a local
    activity): the load moved meanwhile, yet the same step gets the same mediator, whose
    assignment may already be in the store; the next step is weighed afresh."""
    routing = RoutingActivities(engine)
    first = routing.route_case(_req(case_id="kept", at_seq=2))
    assert first.assignment is not None
    chosen = first.assignment.mediator_id
    assert chosen is not None
    ids = _open_cases(engine, chosen, first.assignment.org_id, 3)  # now the busiest
    try:
        assert routing.route_case(_req(case_id="kept", at_seq=2)) == first
        again = routing.route_case(_req(case_id="kept", at_seq=5))
        assert again.assignment is not None and again.assignment.mediator_id != chosen
        assert routing.route_case(_req(case_id="other", at_seq=2)) == again  # its own
    finally:
        with Session(engine) as s:
            s.execute(delete(Case).where(Case.id.in_(ids)))  # type: ignore[attr-defined]
            s.commit()


def test_a_category_finds_its_specialty_and_nothing_else_takes_a_professional_body(
    engine: Engine,
) -> None:
    routing = RoutingActivities(engine)
    town = {"town": "龙市镇", "community": None}

    def org(**kw: object) -> str | None:
        pick = routing.route_case(_req(**kw))
        return pick.assignment.org_id if pick.assignment else None

    assert org(dispute_type=DisputeType.other, category="traffic", **town) == "pro-traffic"
    assert org(dispute_type=DisputeType.neighbor, category="property") == "pro-property"
    assert org(dispute_type=DisputeType.other, category="consumer", **town) == "pro-consumer"
    # Labor stays with the union's committee (R5) whatever the category.
    assert org(dispute_type=DisputeType.labor, category="medical", **town) == "union-labor"
    # No category, or one no body declares: the town's committee, never the first
    # professional body by id; and with the town's mediators all excluded, no route at all.
    assert org(dispute_type=DisputeType.other, **town) == "town-longshi"
    assert org(dispute_type=DisputeType.other, category="education", **town) == "town-longshi"
    gone = ["town-longshi-m1", "town-longshi-m2"]
    assert org(dispute_type=DisputeType.other, excluded_mediators=gone, **town) is None
    # 石鼓坝社区's veterans' room comes after its five-elders studio.
    shiguba = {
        "town": "南津街街道",
        "community": "石鼓坝社区",
        "dispute_type": DisputeType.neighbor,
    }
    assert org(**shiguba) == "fe-nanjin-shiguba"
    studio = ["fe-nanjin-shiguba-m1", "fe-nanjin-shiguba-m2"]
    assert org(excluded_mediators=studio, **shiguba) == "vet-nanjin-shiguba"
