"""Statistics on values (DESIGN §6 `/stats`, `/reports/monthly`): cases with known types,
channels, towns, dates and timelines are written straight into the store, in March 2025 (a
month no other test of this module touches), and the figures are checked exactly.

The timelines are what the workflow writes (store/steps.py): one row per step, numbered.
Times are China Standard Time, as the period is."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlmodel import Session

from api.reports import XLSX
from api.statistics import CaseFacts, Event, p90, within_deadline
from models.policy import Policy
from models.tables import Case, CaseEvent
from tests.api_helpers import auth

CST = timezone(timedelta(hours=8))
TOWN_A, TOWN_B = "统计甲镇", "统计乙镇"  # towns no seeded organisation or other test uses
STUDIO, UNION, WOMENS = "fe-sanmiao-qijian", "union-labor", "wf-marriage"
POLICY = Policy().model_dump(mode="json")  # the legal defaults: 30 days, labor 15, +30


def cst(day: int, hour: int = 0, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=CST)


@dataclass
class Spec:
    key: str
    dispute_type: str
    channel: str
    town: str
    org_id: str | None
    risk_level: str
    status: str
    created: datetime
    outcome: str | None = None
    closed: datetime | None = None
    overdue: bool = False
    events: list[tuple[str, datetime, dict[str, Any]]] = field(default_factory=list)


def visit(result: str) -> dict[str, Any]:
    return {"result": result, "visited_at": "2025-03-01T00:00:00+08:00", "notes": "回访"}


SPECS = [
    # Accepted in 2 h, agreed on day 4, performed on a visit before it fell due: 7 days.
    Spec(
        "c1", "family", "walk_in", TOWN_A, STUDIO, "green", "closed", cst(1, 9),
        outcome="resolved", closed=cst(8, 9),
        events=[
            ("assignment", cst(1, 9), {}),
            ("accepted", cst(1, 11), {}),
            ("agreement", cst(5, 9), {"terms": "按份分割"}),
            ("follow_up", cst(8, 9), visit("performed")),
            ("closure", cst(8, 9), {"outcome": "resolved"}),
        ],
    ),
    # Labor: the 15 days run from the assignment (R5); closed by the deadline itself: not
    # within. Accepted in 24 h; closed in 15 days.
    Spec(
        "c2", "labor", "hotline", TOWN_B, UNION, "yellow", "closed", cst(2, 10),
        outcome="referred_arbitration", closed=cst(17, 10),
        events=[
            ("assignment", cst(2, 10), {}),
            ("accepted", cst(3, 10), {}),
            ("closure", cst(17, 10), {"outcome": "referred_arbitration"}),
        ],
    ),
    # Red at intake, acknowledged in 30 min; accepted in 6 h; agreed 41 days after
    # acceptance, within only thanks to the extension; its visit came after it fell due.
    Spec(
        "c3", "neighbor", "grid_worker", TOWN_A, STUDIO, "red", "follow_up", cst(10, 8),
        overdue=True,
        events=[
            ("risk_alert", cst(10, 8), {"source": "screening"}),
            ("assignment", cst(10, 8), {}),
            ("risk_acknowledged", cst(10, 8, 30), {"note": "已处置"}),
            ("accepted", cst(10, 14), {}),
            ("extension", cst(5, 9, month=4), {"extensions_used": 1}),
            ("agreement", cst(20, 9, month=4), {"terms": "赔偿"}),
            ("follow_up_due", cst(27, 0, month=4), {}),
            ("follow_up", cst(29, 9, month=4), visit("not_performed")),
        ],
    ),
    # Two red alerts: the first re-escalated once and acknowledged after 240 min, the
    # second never; withdrawn before its deadline (within). Accepted in 24 h.
    Spec(
        "c4", "marriage", "police_referral", TOWN_B, WOMENS, "red", "closed", cst(15, 20),
        outcome="withdrawn", closed=cst(20, 9),
        events=[
            ("risk_alert", cst(15, 20), {"source": "screening"}),
            ("assignment", cst(15, 20), {}),
            ("risk_escalation", cst(15, 22), {"escalation": 1}),
            ("risk_acknowledged", cst(16, 0), {"note": "已处置"}),
            ("accepted", cst(16, 20), {}),
            ("risk_alert", cst(18, 9), {"source": "reassessment"}),
            ("closure", cst(20, 9), {"outcome": "withdrawn"}),
        ],
    ),
    # The last evening of March in Shanghai (15:00 UTC): in March. Never assigned.
    Spec("c5", "other", "public_app", TOWN_A, None, "green", "awaiting_supervisor", cst(31, 23)),
    # Accepted in 48 h, still in mediation long past its 15 days: not within.
    Spec(
        "c8", "labor", "petition_referral", TOWN_B, UNION, "yellow", "in_mediation",
        cst(20, 9),
        events=[("assignment", cst(20, 9), {}), ("accepted", cst(22, 9), {})],
    ),
    # Settled on site an hour after acceptance; its visit came after it fell due: 5 days.
    Spec(
        "c9", "family", "walk_in", TOWN_A, STUDIO, "green", "closed", cst(25, 10),
        outcome="resolved_on_site", closed=cst(30, 10),
        events=[
            ("assignment", cst(25, 10), {}),
            ("accepted", cst(25, 11), {}),
            ("agreement", cst(25, 12), {"terms": "当场和解"}),
            ("follow_up_due", cst(28, 0), {}),
            ("follow_up", cst(30, 10), visit("performed")),
            ("closure", cst(30, 10), {"outcome": "resolved_on_site"}),
        ],
    ),
    # Outside March: 1 April 00:30 in Shanghai (still 31 March in UTC), and 28 February.
    Spec("c6", "family", "hotline", TOWN_A, STUDIO, "green", "awaiting_acceptance",
         cst(1, 0, 30, month=4)),
    Spec(
        "c7", "family", "walk_in", TOWN_A, STUDIO, "green", "closed", cst(28, 23, 59, month=2),
        outcome="resolved", closed=cst(5, 9),
        events=[("assignment", cst(28, 23, 59, month=2), {}), ("accepted", cst(1, 1), {})],
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def stats_cases(engine: Engine) -> None:
    """The cases of SPECS in the store, each with its timeline (an intake step first)."""
    with Session(engine) as session:
        for spec in SPECS:
            cid = f"stats-{spec.key}"
            row = {k: getattr(spec, k) for k in ("status", "dispute_type", "channel", "town")}
            row |= {k: getattr(spec, k) for k in ("risk_level", "org_id", "outcome", "overdue")}
            session.add(
                Case(
                    id=cid,
                    case_no=f"STATS-{spec.key}",
                    workflow_id=f"case-{cid}",
                    **row,
                    last_seq=len(spec.events) + 1,
                    policy=POLICY,
                    created_at=spec.created,
                    updated_at=spec.closed or spec.created,
                    closed_at=spec.closed,
                )
            )
            session.flush()
            steps = [("intake", spec.created, {}), *spec.events]
            for seq, (kind, at, detail) in enumerate(steps, start=1):
                event = {"kind": kind, "detail": detail, "occurred_at": at}
                session.add(
                    CaseEvent(case_id=cid, seq=seq, status=spec.status, actor_id="system", **event)
                )
        session.commit()


MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


async def get_stats(http: httpx.AsyncClient, token: str, **params: str) -> dict[str, Any]:
    r = await http.get("/api/v1/stats", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_a_month_gives_known_counts_times_and_shares(
    http: httpx.AsyncClient, tokens: dict[str, str], stats_cases: None
) -> None:
    s = await get_stats(http, tokens["supervisor"], **MARCH)
    assert [s["period_from"], s["period_to"], s["org_id"]] == ["2025-03-01", "2025-03-31", None]
    assert s["total"] == 7  # c6 (1 April in Shanghai) and c7 (28 February) are not in March
    assert s["by_status"] == dict(closed=4, awaiting_supervisor=1, follow_up=1, in_mediation=1)
    assert s["by_dispute_type"] == dict(family=2, labor=2, marriage=1, neighbor=1, other=1)
    assert s["by_channel"] == dict(
        walk_in=2, grid_worker=1, hotline=1, petition_referral=1, police_referral=1, public_app=1
    )
    assert s["by_outcome"] == dict(
        referred_arbitration=1, resolved=1, resolved_on_site=1, withdrawn=1
    )
    assert s["by_town"] == {TOWN_A: 4, TOWN_B: 3}
    assert s["by_org"] == {STUDIO: 3, UNION: 2, WOMENS: 1}  # c5 is unassigned
    assert s["organizations"] == [
        {"id": STUDIO, "name": "七间社区五老工作室", "count": 3},
        {"id": UNION, "name": "合川区总工会劳动争议人民调解委员会", "count": 2},
        {"id": WOMENS, "name": "合川区妇联婚姻家庭纠纷人民调解委员会", "count": 1},
    ]
    assert s["by_risk_level"] == {"green": 3, "red": 2, "yellow": 2}
    assert (s["closed"], s["resolved"], s["resolution_rate"]) == (4, 2, 0.5)
    assert s["overdue"] == 1
    # Accepted after 2, 24, 6, 24, 48 and 1 hours; p90 by nearest rank is the 6th of 6.
    assert s["hours_to_accept"] == {"count": 6, "median": 15.0, "p90": 48.0}
    # Closed after 7, 15, 4 13/24 and 5 days.
    assert s["days_to_close"] == {"count": 4, "median": 6.0, "p90": 15.0}
    assert s["median_days_to_close"] == 6.0
    # Concluded: c1, c3 (extended), c4, c9 within; c2 closed at its deadline, c8 open past it.
    assert s["within_deadline"] == {"concluded": 6, "within": 4, "share": 0.6667}
    # Acknowledged after 30 and 240 minutes; c4's second alert never.
    assert s["red_risk"] == dict(
        cases=2, alerts=3, acknowledged=2, unacknowledged=1, escalations=1,
        minutes_to_acknowledge={"count": 2, "median": 135.0, "p90": 240.0},
    )  # fmt: skip
    # c1's visit came before it fell due; c3's and c9's after.
    assert s["follow_ups"] == dict(
        visits=3, by_result={"not_performed": 1, "performed": 2}, on_time=1, on_time_share=0.3333
    )


async def test_the_period_is_by_the_local_date_and_both_ends_are_included(
    http: httpx.AsyncClient, tokens: dict[str, str], stats_cases: None
) -> None:
    officer = tokens["officer"]
    last_day = await get_stats(http, officer, **{"from": "2025-03-31", "to": "2025-03-31"})
    assert (last_day["total"], last_day["by_dispute_type"]) == (1, {"other": 1})  # c5
    april = await get_stats(http, officer, **{"from": "2025-04-01", "to": "2025-04-30"})
    assert (april["total"], april["by_status"]) == (1, {"awaiting_acceptance": 1})  # c6
    assert april["hours_to_accept"] == {"count": 0, "median": None, "p90": None}
    assert april["within_deadline"] == {"concluded": 0, "within": 0, "share": None}
    assert (await get_stats(http, officer, to="2025-02-28"))["total"] == 1  # c7
    assert (await get_stats(http, officer, **{"from": "2025-03-01"}))["total"] == 8
    everything = await get_stats(http, officer)
    assert everything["total"] == len(SPECS)
    assert everything["period_from"] is None and everything["period_to"] is None


async def test_filters_by_organisation_and_town(
    http: httpx.AsyncClient, tokens: dict[str, str], stats_cases: None
) -> None:
    officer = tokens["officer"]
    union = await get_stats(http, officer, org_id=UNION, **MARCH)
    assert union["total"] == 2 and union["by_dispute_type"] == {"labor": 2}
    assert union["hours_to_accept"] == {"count": 2, "median": 36.0, "p90": 48.0}
    assert union["within_deadline"] == {"concluded": 2, "within": 0, "share": 0.0}
    assert union["organizations"] == [
        {"id": UNION, "name": "合川区总工会劳动争议人民调解委员会", "count": 2}
    ]
    town = await get_stats(http, officer, town=TOWN_A, **MARCH)
    assert town["total"] == 4 and town["by_town"] == {TOWN_A: 4}
    assert town["by_org"] == {STUDIO: 3}
    assert town["follow_ups"]["visits"] == 3 and town["red_risk"]["alerts"] == 1
    both = await get_stats(http, officer, org_id=STUDIO, town=TOWN_B, **MARCH)
    assert both["total"] == 0 and both["resolution_rate"] is None
    assert both["days_to_close"] == {"count": 0, "median": None, "p90": None}


async def test_bad_periods_answer_422_and_mediators_403(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    officer = tokens["officer"]
    for params in (
        {"from": "2025-03-02", "to": "2025-03-01"},
        {"from": "2025-02-30"},
        {"to": "March"},
        {"to": "0"},  # not a Unix time
        {"from": "2025-03-01T00:00:00"},
    ):
        r = await http.get("/api/v1/stats", params=params, headers=auth(officer))
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    for month in ("2025-3", "2025-13", "March"):
        r = await http.get(
            "/api/v1/reports/monthly", params={"month": month}, headers=auth(officer)
        )
        assert r.status_code == 422, month
    for who in ("mediator_qijian", "mediator_union", "admin"):
        r = await http.get("/api/v1/stats", headers=auth(tokens[who]))
        assert r.status_code == 403, who
        r = await http.get(
            "/api/v1/reports/monthly", params={"month": "2025-03"}, headers=auth(tokens[who])
        )
        assert r.status_code == 403, who


BREAKDOWNS = {  # sheet → (the Stats field it shows, its header)
    "纠纷类型": ("by_dispute_type", ["纠纷类型", "代码", "数量", "占比"]),
    "来源渠道": ("by_channel", ["来源渠道", "代码", "数量", "占比"]),
    "办理结果": ("by_outcome", ["办理结果", "代码", "数量", "占比"]),
    "承办组织": ("by_org", ["承办组织", "机构编号", "数量", "占比"]),
    "风险等级": ("by_risk_level", ["风险等级", "代码", "数量", "占比"]),
    "案件状态": ("by_status", ["案件状态", "代码", "数量", "占比"]),
}


async def test_the_monthly_xlsx_holds_the_same_figures_as_stats(
    http: httpx.AsyncClient, tokens: dict[str, str], stats_cases: None
) -> None:
    token = tokens["officer"]
    s = await get_stats(http, token, **MARCH)
    r = await http.get("/api/v1/reports/monthly", params={"month": "2025-03"}, headers=auth(token))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["content-disposition"] == 'attachment; filename="mediation-2025-03.xlsx"'
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == [
        "汇总",
        *list(BREAKDOWNS)[:3],
        "镇街",
        *list(BREAKDOWNS)[3:],
        "回访结果",
    ]
    sheets = {
        name: [list(row) for row in book[name].iter_rows(values_only=True)]
        for name in book.sheetnames
    }

    for name, (key, header) in BREAKDOWNS.items():
        rows = sheets[name]
        assert rows[0] == header, name
        assert rows[-1][0] == "合计" and rows[-1][2] == s["total"] == 7, name
        assert sum(row[2] for row in rows[1:-1]) == s["total"], name
        counts = {row[1]: row[2] for row in rows[1:-1] if row[1] and row[2]}
        assert counts == s[key], name
    assert ["家庭纠纷", "family", 2, pytest.approx(2 / 7)] in sheets["纠纷类型"]
    assert ["来访", "walk_in", 2, pytest.approx(2 / 7)] in sheets["来源渠道"]
    assert ["引导诉讼", "referred_court", 0, 0] in sheets["办理结果"]  # every outcome listed
    assert ["尚无结果（办理中）", None, 3, pytest.approx(3 / 7)] in sheets["办理结果"]
    assert ["七间社区五老工作室", STUDIO, 3, pytest.approx(3 / 7)] in sheets["承办组织"]
    assert ["未分派", None, 1, pytest.approx(1 / 7)] in sheets["承办组织"]
    assert sheets["镇街"] == [
        ["镇街", "数量", "占比"],
        [TOWN_A, 4, pytest.approx(4 / 7)],
        [TOWN_B, 3, pytest.approx(3 / 7)],
        ["合计", 7, 1],
    ]
    visits = sheets["回访结果"]
    assert visits[0] == ["回访结果", "代码", "次数", "占比"]
    assert visits[-1][:3] == ["合计", None, s["follow_ups"]["visits"]]
    assert ["已履行", "performed", 2, pytest.approx(2 / 3)] in visits

    summary = {row[0]: row[1] for row in sheets["汇总"][1:]}
    assert sheets["汇总"][0] == ["指标", "数值", "单位"] and summary["统计月份"] == "2025-03"
    r, f, accept, close = s["red_risk"], s["follow_ups"], s["hours_to_accept"], s["days_to_close"]
    for label, value in {
        "案件总数": s["total"],
        "已结案": s["closed"],
        "调解成功": s["resolved"],
        "调解成功率（调解成功/已结案）": s["resolution_rate"],
        "受理用时（登记至受理）中位数": accept["median"],
        "受理用时（登记至受理）P90": accept["p90"],
        "结案用时（登记至结案）中位数": close["median"],
        "结案用时（登记至结案）P90": close["p90"],
        "法定期限内办结率": s["within_deadline"]["share"],
        "未签收": r["unacknowledged"],
        "预警签收用时中位数": r["minutes_to_acknowledge"]["median"],
        "按期回访率": f["on_time_share"],
        "逾期案件": s["overdue"],
    }.items():
        assert summary[label] == value, label


def csv_sections(body: bytes) -> dict[str, list[list[str]]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    sections: dict[str, list[list[str]]] = {}
    title = ""
    for before, row in zip([[], *rows], rows, strict=False):
        if len(row) == 1 and before == []:
            title = row[0]
            sections[title] = []
        elif row:
            sections[title].append(row)
    return sections


async def test_the_monthly_csv_parses_with_the_same_totals(
    http: httpx.AsyncClient, tokens: dict[str, str], stats_cases: None
) -> None:
    token = tokens["supervisor"]
    s = await get_stats(http, token, **MARCH)
    by_query = await http.get(
        "/api/v1/reports/monthly", params={"month": "2025-03", "format": "csv"}, headers=auth(token)
    )
    by_accept = await http.get(
        "/api/v1/reports/monthly",
        params={"month": "2025-03"},
        headers=auth(token) | {"Accept": "text/csv"},
    )
    for r in (by_query, by_accept):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert r.headers["content-disposition"] == 'attachment; filename="mediation-2025-03.csv"'
    assert by_query.content == by_accept.content
    sections = csv_sections(by_query.content)
    assert next(iter(sections)) == "人民调解统计月报 2025-03"
    for name, (key, header) in BREAKDOWNS.items():
        rows = sections[name]
        assert rows[0] == header and rows[-1] == ["合计", "", "7", "100.0%"], name
        assert {r[1]: int(r[2]) for r in rows[1:-1] if r[1] and r[2] != "0"} == s[key], name
    assert ["家庭纠纷", "family", "2", "28.6%"] in sections["纠纷类型"]
    assert sections["镇街"][-1] == ["合计", "7", "100.0%"]
    summary = {row[0]: row[1] for row in sections["汇总"][1:]}
    assert summary["案件总数"] == "7" and summary["法定期限内办结率"] == "66.7%"
    assert summary["受理用时（登记至受理）中位数"] == "15.0"
    # An Accept that prefers XLSX, or names neither, gets XLSX.
    for accept in (f"{XLSX}, text/csv;q=0.5", "application/json", "*/*"):
        r = await http.get(
            "/api/v1/reports/monthly",
            params={"month": "2025-03"},
            headers=auth(token) | {"Accept": accept},
        )
        assert r.headers["content-type"] == XLSX, accept


# --- the definitions, without a server ------------------------------------------------------


def test_p90_is_the_nearest_rank() -> None:
    assert p90([float(n) for n in range(1, 21)]) == 18.0  # ⌈0.9·20⌉ = 18th
    assert p90([float(n) for n in range(10, 0, -1)]) == 9.0  # ⌈9⌉ = 9th, order does not matter
    assert p90([3.0]) == 3.0
    assert p90([float(n) for n in range(1, 12)]) == 10.0  # ⌈9.9⌉ = 10th


def facts(dispute_type: str, *events: tuple[str, datetime]) -> CaseFacts:
    """An open case of `dispute_type` with `events` as its timeline."""
    timeline = [Event(n, kind, at) for n, (kind, at) in enumerate(events, start=1)]
    row = ("x", "in_mediation", dispute_type, "walk_in", "green", TOWN_A, None, None, False)
    return CaseFacts(*row, events[0][1], None, POLICY, timeline)


def test_the_legal_deadline() -> None:
    t0 = datetime(2025, 3, 1, tzinfo=UTC)
    day = timedelta(days=1)
    # Other disputes: 30 days from acceptance; an agreement on the deadline is within.
    assert within_deadline(facts("family", ("accepted", t0), ("agreement", t0 + 30 * day)), t0)
    late = facts("family", ("accepted", t0), ("agreement", t0 + 31 * day))
    assert within_deadline(late, t0) is False
    extended = facts(
        "family", ("accepted", t0), ("extension", t0 + 20 * day), ("agreement", t0 + 31 * day)
    )
    assert within_deadline(extended, t0) is True
    # An extension after the agreement (a reopened round) does not count for the first.
    after = facts(
        "family", ("accepted", t0), ("agreement", t0 + 31 * day), ("extension", t0 + 40 * day)
    )
    assert within_deadline(after, t0) is False
    # Labor: 15 days from the first assignment, not from acceptance.
    labor = facts(
        "labor", ("assignment", t0), ("accepted", t0 + 5 * day), ("agreement", t0 + 16 * day)
    )
    assert within_deadline(labor, t0) is False
    # A closure counts only strictly before the deadline (the deadline's own closure is not).
    assert within_deadline(facts("other", ("accepted", t0), ("closure", t0 + 29 * day)), t0)
    on_the_day = facts("other", ("accepted", t0), ("closure", t0 + 30 * day))
    assert within_deadline(on_the_day, t0) is False
    # Open: counted (not within) only once past its deadline; never accepted: not counted.
    open_case = facts("other", ("accepted", t0))
    assert within_deadline(open_case, t0 + 30 * day) is None
    assert within_deadline(open_case, t0 + 31 * day) is False
    assert within_deadline(facts("other", ("assignment", t0)), t0 + 99 * day) is None
