"""The admin's API (DESIGN §6, §7): accounts and the roster, for the admin only, audited;
and the admin sees no case data. Real HTTP against the suite's API and a real store."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.tables import AuditLog, Contact
from tests.api_helpers import auth, intake_json, post_case

# Every admin route with a body it would accept.
ADMIN_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/v1/principals", None),
    ("POST", "/api/v1/principals", {"role": "officer", "name": "x"}),
    ("POST", "/api/v1/principals/p-any/revoke", None),
    ("POST", "/api/v1/principals/p-any/rotate", None),
    (
        "POST",
        "/api/v1/organizations",
        {"id": "denied-org", "name": "x", "kind": "town_mediation_committee"},
    ),
    ("PATCH", "/api/v1/organizations/union-labor", {"active": False}),
    ("POST", "/api/v1/mediators", {"org_id": "union-labor", "name": "x"}),
    ("PATCH", "/api/v1/mediators/union-labor-m1", {"capacity": 0}),
    ("GET", "/api/v1/contacts", None),
    ("PUT", "/api/v1/contacts/police_liaison", {"name": "x", "phone": "13800000000"}),
]


async def call(
    http: httpx.AsyncClient, token: str | None, method: str, path: str, body: Any = None
) -> httpx.Response:
    headers = auth(token) if token else {}
    return await http.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("who", ["officer", "supervisor", "mediator_qijian", None])
async def test_only_the_admin_may_use_the_admin_routes(
    http: httpx.AsyncClient, tokens: dict[str, str], who: str | None
) -> None:
    token = tokens[who] if who else None
    for method, path, body in ADMIN_ROUTES:
        r = await call(http, token, method, path, body)
        assert r.status_code == (403 if who else 401), (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        # Refused before the body is read: a bad body gets the same answer.
        if body is not None:
            bad = await call(http, token, method, path, {"nonsense": True})
            assert bad.status_code == r.status_code, (method, path)
    # Nothing of it happened.
    orgs = await call(http, tokens["officer"], "GET", "/api/v1/organizations")
    assert "denied-org" not in {o["id"] for o in orgs.json()}
    assert "union-labor" in {o["id"] for o in orgs.json()}


async def test_the_admin_sees_no_case_data(http: httpx.AsyncClient, tokens: dict[str, str]) -> None:
    r = await post_case(http, tokens["officer"], intake_json())
    cid = r.json()["case_id"]
    admin = tokens["admin"]
    for path in (
        "/api/v1/cases",
        f"/api/v1/cases/{cid}",
        f"/api/v1/cases/{cid}/timeline",
        f"/api/v1/cases/{cid}/notifications",
        f"/api/v1/cases/{cid}/history",
        f"/api/v1/cases/{cid}/documents",
        "/api/v1/stats",
    ):
        assert (await call(http, admin, "GET", path)).status_code == 403, path
    withdraw = await call(http, admin, "POST", f"/api/v1/cases/{cid}/withdraw", {"reason": "x"})
    assert withdraw.status_code == 403
    assert (await post_case(http, admin, intake_json())).status_code == 403


async def test_organisations_created_and_changed_by_the_admin_are_the_roster(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    admin, officer = tokens["admin"], tokens["officer"]
    org = {
        "id": "town-taihe",
        "name": "太和镇人民调解委员会",
        "kind": "town_mediation_committee",
        "town": "太和镇",
    }
    r = await call(http, admin, "POST", "/api/v1/organizations", org)
    assert r.status_code == 201, r.text
    assert r.json() == {**org, "community": None, "specialty": None, "active": True}

    async def listed() -> dict[str, Any]:
        r = await call(http, officer, "GET", "/api/v1/organizations")
        return {o["id"]: o for o in r.json()}

    seen = (await listed())["town-taihe"]
    assert (seen["name"], seen["kind"], seen["town"], seen["mediators"]) == (
        "太和镇人民调解委员会",
        "town_mediation_committee",
        "太和镇",
        0,
    )
    assert (await call(http, admin, "POST", "/api/v1/organizations", org)).status_code == 409
    for bad in (
        {**org, "id": "town-x", "kind": "tea_house"},
        {**org, "id": "Town X"},
        {**org, "id": "town-y", "name": ""},
        {**org, "id": "town-z", "founded": 1950},
        {k: v for k, v in org.items() if k != "name"},
    ):
        r = await call(http, admin, "POST", "/api/v1/organizations", bad)
        assert r.status_code == 422, (bad, r.text)

    r = await call(
        http,
        admin,
        "PATCH",
        "/api/v1/organizations/town-taihe",
        {"name": "太和镇调委会", "community": "太和社区"},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["community"], r.json()["town"]) == (
        "太和镇调委会",
        "太和社区",
        "太和镇",
    )
    assert (await listed())["town-taihe"]["name"] == "太和镇调委会"
    patches: list[dict[str, Any]] = [
        {"name": None},
        {"active": None},
        {"kind": "tea_house"},
        {"id": "x"},
    ]
    for patch in patches:
        r = await call(http, admin, "PATCH", "/api/v1/organizations/town-taihe", patch)
        assert r.status_code == 422, (patch, r.text)
    missing = await call(http, admin, "PATCH", "/api/v1/organizations/nowhere", {"name": "x"})
    assert missing.status_code == 404

    # Inactive: out of the roster everyone reads (and out of routing).
    r = await call(http, admin, "PATCH", "/api/v1/organizations/town-taihe", {"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    assert "town-taihe" not in await listed()
    r = await call(http, admin, "PATCH", "/api/v1/organizations/town-taihe", {"active": True})
    assert "town-taihe" in await listed()


async def test_mediators_created_and_changed_by_the_admin_are_the_roster(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    admin, officer = tokens["admin"], tokens["officer"]
    for org_id in ("town-gulou", "town-qiantang"):
        org = {"id": org_id, "name": org_id, "kind": "town_mediation_committee"}
        assert (await call(http, admin, "POST", "/api/v1/organizations", org)).status_code == 201

    body = {"org_id": "town-gulou", "name": "调解员甲", "title": "专职调解员", "capacity": 4}
    r = await call(http, admin, "POST", "/api/v1/mediators", body)
    assert r.status_code == 201, r.text
    assert r.json() == {**body, "id": "town-gulou-m1", "active": True}
    second = await call(
        http, admin, "POST", "/api/v1/mediators", {"org_id": "town-gulou", "name": "调解员乙"}
    )
    assert second.status_code == 201 and second.json()["id"] == "town-gulou-m2"
    assert second.json()["capacity"] == 5
    again = {**body, "id": "town-gulou-m1"}
    assert (await call(http, admin, "POST", "/api/v1/mediators", again)).status_code == 409
    for bad in (
        {**body, "org_id": "no-such-org"},
        {**body, "capacity": -1},
        {**body, "capacity": "4"},
        {**body, "name": "甲" * 101},
        {**body, "phone": "13800000000"},
    ):
        r = await call(http, admin, "POST", "/api/v1/mediators", bad)
        assert r.status_code == 422, (bad, r.text)

    async def members(org_id: str) -> dict[str, Any]:
        r = await call(http, officer, "GET", f"/api/v1/mediators?org_id={org_id}")
        return {m["id"]: m for m in r.json()}

    assert set(await members("town-gulou")) == {"town-gulou-m1", "town-gulou-m2"}
    orgs = {o["id"]: o for o in (await call(http, officer, "GET", "/api/v1/organizations")).json()}
    assert orgs["town-gulou"]["mediators"] == 2

    r = await call(http, admin, "PATCH", "/api/v1/mediators/town-gulou-m1", {"capacity": 2})
    assert r.status_code == 200 and r.json()["capacity"] == 2
    assert (await members("town-gulou"))["town-gulou-m1"]["capacity"] == 2
    r = await call(http, admin, "PATCH", "/api/v1/mediators/town-gulou-m2", {"active": False})
    assert r.status_code == 200
    assert "town-gulou-m2" not in await members("town-gulou")
    missing = await call(http, admin, "PATCH", "/api/v1/mediators/nobody", {"capacity": 1})
    assert missing.status_code == 404
    patches: list[dict[str, Any]] = [{"capacity": None}, {"org_id": "no-such-org"}, {"name": ""}]
    for patch in patches:
        r = await call(http, admin, "PATCH", "/api/v1/mediators/town-gulou-m1", patch)
        assert r.status_code == 422, (patch, r.text)

    # A principal for the new mediator; when the mediator moves (no open cases), so does
    # the principal's organisation.
    r = await call(
        http,
        admin,
        "POST",
        "/api/v1/principals",
        {"role": "mediator", "name": "gulou", "mediator_id": "town-gulou-m1"},
    )
    assert r.status_code == 201 and r.json()["principal"]["org_id"] == "town-gulou"
    pid, token = r.json()["principal"]["id"], r.json()["token"]
    assert (await call(http, token, "GET", "/api/v1/cases")).status_code == 200
    r = await call(
        http, admin, "PATCH", "/api/v1/mediators/town-gulou-m1", {"org_id": "town-qiantang"}
    )
    assert r.status_code == 200 and r.json()["org_id"] == "town-qiantang"
    assert "town-gulou-m1" in await members("town-qiantang")
    principals = (await call(http, admin, "GET", "/api/v1/principals")).json()
    assert next(p for p in principals if p["id"] == pid)["org_id"] == "town-qiantang"


async def test_a_mediator_with_open_cases_does_not_change_organisation(
    http: httpx.AsyncClient, tokens: dict[str, str]
) -> None:
    r = await post_case(http, tokens["officer"], intake_json())
    assert r.status_code == 201, r.text
    held = r.json()["assignment"]["mediator_id"]
    r = await call(
        http, tokens["admin"], "PATCH", f"/api/v1/mediators/{held}", {"org_id": "wf-marriage"}
    )
    assert r.status_code == 409, r.text
    mediators = await call(http, tokens["officer"], "GET", "/api/v1/mediators")
    assert next(m for m in mediators.json() if m["id"] == held)["org_id"] == "fe-sanmiao-qijian"


async def test_contacts_are_kept_by_the_admin(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    admin = tokens["admin"]
    r = await call(http, admin, "GET", "/api/v1/contacts")
    assert r.status_code == 200
    audiences = {c["audience"] for c in r.json()}
    assert {"police_liaison", "duty_supervisor", "supervisors", "org:union-labor"} <= audiences

    desk = {"name": "驻中心联络民警（新）", "phone": "023-4270 0110"}
    r = await call(http, admin, "PUT", "/api/v1/contacts/police_liaison", desk)
    assert r.status_code == 200 and r.json() == {"audience": "police_liaison", **desk}
    own = {"name": "工会调解员专线", "phone": "+8613800009999"}
    r = await call(http, admin, "PUT", "/api/v1/contacts/mediator:union-labor-m2", own)
    assert r.status_code in (200, 201), r.text
    with Session(engine) as s:
        stored = s.get(Contact, "police_liaison")
        assert stored is not None and (stored.name, stored.phone) == (desk["name"], desk["phone"])
        assert s.get(Contact, "mediator:union-labor-m2") is not None

    # A new organisation's duty phone is a new contact.
    org = {"id": "town-sanhui", "name": "三汇镇调委会", "kind": "town_mediation_committee"}
    assert (await call(http, admin, "POST", "/api/v1/organizations", org)).status_code == 201
    r = await call(http, admin, "PUT", "/api/v1/contacts/org:town-sanhui", own)
    assert r.status_code == 201
    assert (
        await call(http, admin, "PUT", "/api/v1/contacts/org:town-sanhui", own)
    ).status_code == 200

    for audience, status in (
        ("org:no-such-org", 404),
        ("mediator:nobody", 404),
        ("everyone", 422),
        ("org:", 422),
    ):
        r = await call(http, admin, "PUT", f"/api/v1/contacts/{audience}", own)
        assert r.status_code == status, (audience, r.text)
    for bad in ({"name": "x", "phone": "call me"}, {"name": "", "phone": "110"}, {"name": "x"}):
        r = await call(http, admin, "PUT", "/api/v1/contacts/police_liaison", bad)
        assert r.status_code == 422, (bad, r.text)


async def test_the_admins_changes_are_audited_without_the_bodies(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    admin = tokens["admin"]
    org = {"id": "town-audit", "name": "审计镇调委会", "kind": "town_mediation_committee"}
    assert (await call(http, admin, "POST", "/api/v1/organizations", org)).status_code == 201
    contact = {"name": "审计联系人", "phone": "13899990000"}
    r = await call(http, admin, "PUT", "/api/v1/contacts/org:town-audit", contact)
    assert r.status_code == 201
    denied = await call(http, tokens["supervisor"], "GET", "/api/v1/contacts")
    assert denied.status_code == 403
    with Session(engine) as s:
        rows = s.exec(select(AuditLog)).all()
    seen = {(a.action, a.resource, a.status_code, a.role) for a in rows}
    assert ("POST /api/v1/organizations", "/api/v1/organizations", 201, "admin") in seen
    assert (
        "PUT /api/v1/contacts/{audience}",
        "/api/v1/contacts/org:town-audit",
        201,
        "admin",
    ) in seen
    assert ("GET /api/v1/contacts", "/api/v1/contacts", 403, "supervisor") in seen
    every = " ".join(str(a.model_dump()) for a in rows)
    for body_value in ("审计镇调委会", "审计联系人", "13899990000"):
        assert body_value not in every
