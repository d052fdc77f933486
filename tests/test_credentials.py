"""Credentials that end (DESIGN §9, issue 15): a token expires, can be revoked and rotated,
and the console's and the codec server's sessions end with it; `principals list` shows who
holds what without the tokens; a mediator principal names its mediator.

Real HTTP against the suite's API (tests/conftest.py), a real store, and the CLI as a
separate process, as an operator runs it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from core.settings import Settings
from models.enums import Role
from models.tables import ApiPrincipal, AuditLog, ConsoleSession
from store.principals import DEFAULT_TOKEN_DAYS, PrincipalError, create_principal, hash_token
from tests.api_helpers import auth, intake_json, post_case
from tests.console_helpers import CSRF, sign_in
from tests.helpers import run

EMPTY: dict[str, list[object]] = {
    "payloads": []
}  # a codec call that needs no case: only who may make it is tested


def set_expiry(engine: Engine, principal_id: str, at: datetime) -> None:
    with Session(engine) as s:
        s.exec(  # type: ignore[call-overload]
            update(ApiPrincipal).where(col(ApiPrincipal.id) == principal_id).values(expires_at=at)
        )
        s.commit()


async def cli(db_url: str, *args: str) -> str:
    """`mediation …` in its own process; its stdout."""
    env = {**os.environ, "MEDIATION_DATABASE_URL": db_url}
    return await run(sys.executable, "-m", "ops", *args, env=env)


class Holder:
    """One supervisor, signed in three ways: a bearer token for the API and the codec, a
    console session and a codec session."""

    def __init__(self, api_url: str, token: str) -> None:
        self.token = token
        self.api = httpx.AsyncClient(base_url=api_url, timeout=30)
        self.console = httpx.AsyncClient(base_url=api_url, timeout=30)
        self.codec = httpx.AsyncClient(base_url=api_url, timeout=30)

    async def sign_in_everywhere(self) -> None:
        await sign_in(self.console, self.token)
        login = await self.codec.post("/codec/login", data={"token": self.token})
        assert login.status_code == 200, login.text
        assert self.codec.cookies.get("mediation_codec")

    async def statuses(self) -> dict[str, int]:
        """What each way in answers now."""
        page = await self.console.get("/escalations")
        async with httpx.AsyncClient(base_url=self.api.base_url, timeout=30) as fresh:
            form = CSRF.search((await fresh.get("/signin")).text)
            assert form is not None
            again = await fresh.post("/signin", data={"csrf_token": form[1], "token": self.token})
        async with httpx.AsyncClient(base_url=self.api.base_url, timeout=30) as fresh:
            codec_login = await fresh.post("/codec/login", data={"token": self.token})
        return {
            "api": (await self.api.get("/api/v1/cases", headers=auth(self.token))).status_code,
            # A live session shows the page; an ended one sends the browser to sign in.
            "console session": page.status_code,
            "console sign-in": again.status_code,
            "codec session": (await self.codec.post("/codec/decode", json=EMPTY)).status_code,
            "codec bearer": (
                await self.api.post("/codec/decode", json=EMPTY, headers=auth(self.token))
            ).status_code,
            "codec sign-in": codec_login.status_code,
        }

    async def close(self) -> None:
        for client in (self.api, self.console, self.codec):
            await client.aclose()


WORKING = {
    "api": 200,
    "console session": 200,
    "console sign-in": 303,
    "codec session": 200,
    "codec bearer": 200,
    "codec sign-in": 200,
}
REFUSED = {
    "api": 401,
    "console session": 303,  # to /signin
    "console sign-in": 401,
    "codec session": 401,
    "codec bearer": 401,
    "codec sign-in": 401,
}


async def test_an_expired_token_is_refused_by_the_api_the_console_and_the_codec(
    api_url: str, engine: Engine
) -> None:
    principal, token = create_principal(engine, Role.supervisor, "short-lived supervisor")
    ends = datetime.now(UTC) + timedelta(seconds=6)
    set_expiry(engine, principal.id, ends)
    holder = Holder(api_url, token)
    try:
        await holder.sign_in_everywhere()
        # Everything works until the second the token ends; the API's principal cache
        # holds it from the first request on.
        assert await holder.statuses() == WORKING
        with Session(engine) as s:
            sessions = s.exec(
                select(ConsoleSession).where(ConsoleSession.principal_id == principal.id)
            ).all()
        assert {x.purpose for x in sessions} == {"console", "codec"}
        assert all(x.expires_at <= ends for x in sessions)  # never outlive the token
        await asyncio.sleep((ends - datetime.now(UTC)).total_seconds() + 0.3)
        # Well within the cache's 10 s: expiry is checked on every use, not by the cache.
        assert await holder.statuses() == REFUSED
        page = await holder.console.get("/escalations")
        assert page.headers["location"].startswith("/signin")
    finally:
        await holder.close()


async def test_sessions_end_with_their_principal_whatever_their_own_expiry(
    api_url: str, engine: Engine
) -> None:
    """A session is live only while its principal's token is: when the token's end is
    brought forward in the store, sessions opened before (whose own ends are hours away)
    stop at once, in every process (they are looked up on every request)."""
    principal, token = create_principal(engine, Role.supervisor, "supervisor cut short")
    holder = Holder(api_url, token)
    try:
        await holder.sign_in_everywhere()
        set_expiry(engine, principal.id, datetime.now(UTC) - timedelta(seconds=1))
        with Session(engine) as s:
            sessions = s.exec(
                select(ConsoleSession).where(ConsoleSession.principal_id == principal.id)
            ).all()
        assert len(sessions) == 2 and all(x.expires_at > datetime.now(UTC) for x in sessions)
        assert (await holder.console.get("/escalations")).status_code == 303
        assert (await holder.codec.post("/codec/decode", json=EMPTY)).status_code == 401
    finally:
        await holder.close()


async def test_a_revoked_token_is_refused_at_once_in_the_process_that_revoked_it(
    api_url: str, http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    principal, token = create_principal(engine, Role.supervisor, "supervisor to revoke")
    holder = Holder(api_url, token)
    try:
        await holder.sign_in_everywhere()
        assert await holder.statuses() == WORKING  # and cached by the API
        admin = auth(tokens["admin"])
        r = await http.post(f"/api/v1/principals/{principal.id}/revoke", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "revoked" and r.json()["revoked_at"]
        assert await holder.statuses() == REFUSED
        # Revoking again changes nothing; a revoked principal is not rotated back to life.
        again = await http.post(f"/api/v1/principals/{principal.id}/revoke", headers=admin)
        assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
        rotate = await http.post(f"/api/v1/principals/{principal.id}/rotate", headers=admin)
        assert rotate.status_code == 409
        with Session(engine) as s:
            left = s.exec(
                select(ConsoleSession).where(ConsoleSession.principal_id == principal.id)
            ).all()
        assert left == []
    finally:
        await holder.close()


async def test_a_revocation_by_the_cli_reaches_every_api_process_within_the_cache_bound(
    api_url: str, engine: Engine, db_url: str
) -> None:
    """`mediation principals revoke` is another process: the console and codec sessions end
    at once (they are looked up on every request); an API process that cached the token
    refuses it within its cache's 10 s (api/deps.py, README)."""
    principal, token = create_principal(engine, Role.supervisor, "supervisor revoked by CLI")
    holder = Holder(api_url, token)
    try:
        await holder.sign_in_everywhere()
        assert await holder.statuses() == WORKING
        await cli(db_url, "principals", "revoke", principal.id)
        assert (await holder.console.get("/escalations")).status_code == 303
        assert (await holder.codec.post("/codec/decode", json=EMPTY)).status_code == 401
        started = time.monotonic()
        while (await holder.api.get("/api/v1/cases", headers=auth(token))).status_code == 200:
            assert time.monotonic() - started < 11, "still accepted after the cache's bound"
            await asyncio.sleep(0.25)
        assert await holder.statuses() == REFUSED
        listed = [
            json.loads(line)
            for line in (await cli(db_url, "principals", "list", "--json")).splitlines()
        ]
        mine = next(p for p in listed if p["id"] == principal.id)
        assert mine["state"] == "revoked" and mine["revoked_at"]
    finally:
        await holder.close()


async def test_rotating_gives_the_same_principal_a_new_token_and_ends_the_old_one(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine, db_url: str
) -> None:
    principal, old = create_principal(
        engine, Role.mediator, "rotating mediator", mediator_id="fe-sanmiao-qijian-m2"
    )
    assert (await http.get("/api/v1/cases", headers=auth(old))).status_code == 200  # cached

    # Through the API: the old token stops at once (this process forgets it).
    r = await http.post(
        f"/api/v1/principals/{principal.id}/rotate",
        json={"expires_in_days": 7},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 200, r.text
    new = r.json()["token"]
    assert new != old and new.startswith("med_")
    rotated = r.json()["principal"]
    assert (rotated["id"], rotated["role"], rotated["org_id"], rotated["mediator_id"]) == (
        principal.id,
        "mediator",
        "fe-sanmiao-qijian",
        "fe-sanmiao-qijian-m2",
    )
    days = datetime.fromisoformat(rotated["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < days <= timedelta(days=7)
    assert (await http.get("/api/v1/cases", headers=auth(old))).status_code == 401
    assert (await http.get("/api/v1/cases", headers=auth(new))).status_code == 200

    # Through the CLI: the new token alone on stdout; the one before stops working.
    out = await cli(db_url, "principals", "rotate", principal.id)
    newest = out.strip()
    assert out == newest + "\n" and newest.startswith("med_") and newest != new
    started = time.monotonic()  # `new` may sit in the API's cache for up to 10 s
    while (await http.get("/api/v1/cases", headers=auth(new))).status_code == 200:
        assert time.monotonic() - started < 11
        await asyncio.sleep(0.25)
    r = await http.get("/api/v1/cases", headers=auth(newest))
    assert r.status_code == 200
    with Session(engine) as s:
        rows = s.exec(select(ApiPrincipal).where(ApiPrincipal.id == principal.id)).all()
    assert len(rows) == 1 and rows[0].token_hash == hash_token(newest)

    unknown = await http.post("/api/v1/principals/p-nobody/rotate", headers=auth(tokens["admin"]))
    assert unknown.status_code == 404


async def test_principals_list_shows_who_holds_what_and_never_a_token(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine, db_url: str
) -> None:
    secrets = set(tokens.values()) | {hash_token(t) for t in tokens.values()}
    table = await cli(db_url, "principals", "list")
    lines = await cli(db_url, "principals", "list", "--json")
    r = await http.get("/api/v1/principals", headers=auth(tokens["admin"]))
    assert r.status_code == 200
    for shown in (table, lines, r.text):
        assert not [s for s in secrets if s in shown]
        assert "token" not in shown.lower() and "hash" not in shown.lower()
    listed = [json.loads(line) for line in lines.splitlines()]
    with Session(engine) as s:
        ids = set(s.exec(select(ApiPrincipal.id)).all())
    assert {p["id"] for p in listed} == ids == {p["id"] for p in r.json()}
    wf = next(p for p in r.json() if p["name"] == "test mediator_wf")
    assert (wf["role"], wf["org_id"], wf["mediator_id"], wf["state"]) == (
        "mediator",
        "wf-marriage",
        "wf-marriage-m1",
        "active",
    )
    assert datetime.fromisoformat(wf["expires_at"]) > datetime.now(UTC) + timedelta(days=89)
    assert "test mediator_wf" in table and "wf-marriage-m1" in table


async def test_a_mediator_principal_must_name_a_mediator_of_its_organisation(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine, db_url: str
) -> None:
    with pytest.raises(PrincipalError, match="mediator id"):
        create_principal(engine, Role.mediator, "nobody in particular", "union-labor")
    with pytest.raises(PrincipalError, match="does not belong"):
        create_principal(engine, Role.mediator, "misplaced", "union-labor", "wf-marriage-m1")
    with pytest.raises(PrincipalError, match="only a mediator"):
        create_principal(engine, Role.officer, "officer", mediator_id="wf-marriage-m1")

    admin = auth(tokens["admin"])
    for body in (
        {"role": "mediator", "name": "x", "org_id": "union-labor"},
        {"role": "mediator", "name": "x", "org_id": "union-labor", "mediator_id": "wf-marriage-m1"},
        {"role": "mediator", "name": "x", "mediator_id": "no-such-mediator"},
        {"role": "supervisor", "name": "x", "mediator_id": "wf-marriage-m1"},
        {"role": "supervisor", "name": "x", "token": "med_mine"},  # unknown field
        {"role": "supervisor", "name": "x", "expires_in_days": 0},
    ):
        r = await http.post("/api/v1/principals", json=body, headers=admin)
        assert r.status_code == 422, (body, r.text)
    # The organisation comes with the mediator; the token is in this one answer.
    r = await http.post(
        "/api/v1/principals",
        json={"role": "mediator", "name": "new mediator", "mediator_id": "union-labor-m3"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    made = r.json()["principal"]
    assert (made["org_id"], made["mediator_id"], made["state"]) == (
        "union-labor",
        "union-labor-m3",
        "active",
    )
    assert (await http.get("/api/v1/cases", headers=auth(r.json()["token"]))).status_code == 200

    created = await cli(
        db_url,
        "principals",
        "create",
        "--role",
        "officer",
        "--name",
        "CLI officer",
        "--expires-in-days",
        "3",
    )
    with Session(engine) as s:
        row = s.exec(
            select(ApiPrincipal).where(ApiPrincipal.token_hash == hash_token(created.strip()))
        ).one()
    assert timedelta(days=2, hours=23) < row.expires_at - datetime.now(UTC) <= timedelta(days=3)


async def test_a_mediator_principal_without_a_mediator_reads_nothing(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    """One made before the rule (a row as old stores hold it) is refused every case of its
    organisation, and sees no one's personal data."""
    r = await post_case(http, tokens["officer"], intake_json())
    assert r.status_code == 201, r.text
    cid = r.json()["case_id"]
    _p, token = create_principal(engine, Role.officer, "legacy mediator")
    with Session(engine) as s:
        s.exec(  # type: ignore[call-overload]
            update(ApiPrincipal)
            .where(col(ApiPrincipal.token_hash) == hash_token(token))
            .values(role="mediator", org_id="fe-sanmiao-qijian", mediator_id=None)
        )
        s.commit()
    listed = await http.get("/api/v1/cases", headers=auth(token))
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert (await http.get(f"/api/v1/cases/{cid}", headers=auth(token))).status_code == 404
    # The studio's own mediator does see it.
    assert (
        await http.get(f"/api/v1/cases/{cid}", headers=auth(tokens["mediator_qijian"]))
    ).status_code == 200


async def test_the_codec_cookie_is_a_session_of_its_own_not_the_token(
    api_url: str, tokens: dict[str, str], engine: Engine
) -> None:
    supervisor = tokens["supervisor"]
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as browser:
        login = await browser.post("/codec/login", data={"token": supervisor})
        assert login.status_code == 200
        cookie = login.headers["set-cookie"]
        value = browser.cookies["mediation_codec"]
        assert value != supervisor and supervisor not in cookie
        attributes = cookie.lower()
        assert "httponly" in attributes and "path=/codec" in attributes
        assert "expires=" in attributes and "samesite=strict" in attributes
        assert "secure" not in attributes  # plain http here
        with Session(engine) as s:
            digests = {x.id_digest for x in s.exec(select(ConsoleSession))}
        assert value not in digests and hash_token(value) in digests  # only its digest kept
        assert (await browser.post("/codec/decode", json=EMPTY)).status_code == 200

    # A console session is not a codec session.
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as console:
        await sign_in(console, supervisor)
        console_id = console.cookies["mediation_session"]
    async with httpx.AsyncClient(
        base_url=api_url, timeout=30, cookies={"mediation_codec": console_id}
    ) as forged:
        assert (await forged.post("/codec/decode", json=EMPTY)).status_code == 401

    # Behind a TLS proxy (X-Forwarded-Proto from a trusted address) the cookie is Secure.
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as proxied:
        r = await proxied.post(
            "/codec/login", data={"token": supervisor}, headers={"X-Forwarded-Proto": "https"}
        )
        assert r.status_code == 200 and "secure" in r.headers["set-cookie"].lower()


async def test_credentials_and_denials_are_audited_without_tokens_or_names(
    http: httpx.AsyncClient, tokens: dict[str, str], engine: Engine
) -> None:
    r = await http.post(
        "/api/v1/principals",
        json={"role": "officer", "name": "审计测试姓名"},
        headers=auth(tokens["admin"]),
    )
    assert r.status_code == 201
    made, token = r.json()["principal"]["id"], r.json()["token"]
    denied = await http.get("/api/v1/principals", headers=auth(tokens["supervisor"]))
    assert denied.status_code == 403
    await http.post(f"/api/v1/principals/{made}/revoke", headers=auth(tokens["admin"]))
    assert (await http.get("/api/v1/cases", headers=auth(token))).status_code == 401
    with Session(engine) as s:
        rows = s.exec(select(AuditLog)).all()
    actions = {(a.action, a.status_code, a.role) for a in rows}
    assert ("POST /api/v1/principals", 201, "admin") in actions
    assert ("GET /api/v1/principals", 403, "supervisor") in actions
    assert ("POST /api/v1/principals/{principal_id}/revoke", 200, "admin") in actions
    assert ("GET /api/v1/cases", 401, None) in actions
    every = " ".join(str(a.model_dump()) for a in rows)
    assert token not in every and hash_token(token) not in every and "审计测试姓名" not in every


def test_the_stores_default_lifetime_is_the_settings_default() -> None:
    """Callers without settings at hand (tests, bench) get what the API and CLI default to."""
    assert Settings.model_fields["token_days"].default == DEFAULT_TOKEN_DAYS == 90
