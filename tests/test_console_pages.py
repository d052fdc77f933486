"""The console's pages in both languages (DESIGN §10), over real HTTP: every visible string
comes from the catalogue, the zh pages show no English code, and the catalogue is whole."""

from __future__ import annotations

import re
import string
from typing import Any

import httpx
import pytest

from core.i18n import REFUSALS, Translator, catalogue
from models.commands import Action
from models.enums import (
    CaseStatus,
    Channel,
    DisputeType,
    FollowUpResult,
    NotificationKind,
    OrgKind,
    Outcome,
    PartyRole,
    RejectionGround,
    RiskFlag,
    RiskLevel,
    Role,
    Specialty,
)
from tests.api_helpers import assignee, auth, command, intake_json, post_case
from tests.console_helpers import CSRF, sign_in, visible_text

ENUMS: dict[str, Any] = {
    "status": CaseStatus,
    "outcome": Outcome,
    "dispute_type": DisputeType,
    "channel": Channel,
    "party_role": PartyRole,
    "risk_flag": RiskFlag,
    "risk_level": RiskLevel,
    "follow_up_result": FollowUpResult,
    "org_kind": OrgKind,
    "notification": NotificationKind,
    "role": Role,
    "action": Action,
    "rejection_ground": RejectionGround,
    "specialty": Specialty,
}
KEY = re.compile(r"\b(" + "|".join(sorted({k.split(".")[0] for k in catalogue()})) + r")\.[\w/-]+")
# Codes that are English words a zh page must not show (short ones like "red" also appear
# inside longer words, so whole words only).
CODES = sorted({e.value for enum in ENUMS.values() for e in enum}, key=len, reverse=True)
CODE = re.compile(r"(?<![\w-])(" + "|".join(re.escape(c) for c in CODES) + r")(?![\w-])")


CASE_NO = re.compile(r"HC\d{8}-[0-9A-F]+")
ENGLISH = re.compile(r"[A-Za-z]{3,}")


def test_the_catalogue_is_whole() -> None:
    fields = string.Formatter()
    for key, texts in catalogue().items():
        assert set(texts) == {"zh", "en"}, key
        names = [{f for _, f, _, _ in fields.parse(texts[lang]) if f} for lang in ("zh", "en")]
        assert names[0] == names[1], f"{key}: the placeholders differ"
    for section, enum in ENUMS.items():
        for value in enum:
            assert f"{section}.{value.value}" in catalogue(), f"{section}.{value.value}"


def test_every_refusal_of_the_rules_is_in_words() -> None:
    """Each reason workflows/rules.py can give, as it gives it, maps to its own entry."""
    source = open("workflows/rules.py", encoding="utf-8").read()
    reasons = re.findall(r'return f?"([^"]+)"', source)
    assert len(reasons) >= 15
    zh = Translator("zh")
    for reason in reasons:
        sample = re.sub(r"\{action\.value\}", "accept", reason)
        sample = re.sub(r"\{state\.status\.value\}", "closed", sample)
        sample = re.sub(r"\{actor\.role\.value\}", "officer", sample)
        sample = re.sub(r"\{state\.risk_level\.value\}", "red", sample)
        assert "{" not in sample, reason
        assert any(p.fullmatch(sample) for p, _ in REFUSALS), reason
        words = zh.refusal(sample)
        assert words != zh("refusal.other") and not CODE.search(words), (reason, words)


def problems(html: str, lang: str, data: tuple[str, ...] = ()) -> list[str]:
    """What on the page is not from the catalogue; `data` is what people typed (names)."""
    text = visible_text(html)
    for typed in data:
        text = text.replace(typed, "")
    found = [f"untranslated {m.group(0)}" for m in KEY.finditer(text)]
    if lang == "zh":
        found += [f"English code {m.group(0)!r}" for m in CODE.finditer(text)]
        # Any English at all, but the switch to English, case numbers and the token's prefix.
        rest = CASE_NO.sub("", text).replace("English", "").replace("med_", "")
        found += [f"English {m.group(0)!r}" for m in ENGLISH.finditer(rest)]
    return found


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_every_page_speaks_the_language(
    api_url: str, tokens: dict[str, str], http: httpx.AsyncClient, lang: str
) -> None:
    # One case with a history worth showing: registered, accepted, a session held.
    r = await post_case(http, tokens["officer"], intake_json())
    case = r.json()
    cid = case["case_id"]
    await command(
        http,
        assignee(tokens, case),
        cid,
        "accept",
        {"mediator_id": case["assignment"]["mediator_id"]},
    )
    await command(
        http,
        assignee(tokens, case),
        cid,
        "sessions",
        {"held_at": "2026-11-30T10:00:00+08:00", "summary": "双方到场", "attendees": ["甲"]},
    )

    pages = {
        "officer": [
            "/cases",
            "/cases/new",
            f"/cases/{cid}",
            "/dashboard",
            "/cases?status=in_mediation",
        ],
        "mediator_qijian": ["/work", f"/cases/{cid}", "/cases", "/cases/nope"],
        "supervisor": ["/escalations", f"/cases/{cid}", "/dashboard", "/cases/new"],
    }
    seen = 0
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as anon:
        anon.cookies.set("mediation_lang", lang)
        page = await anon.get("/signin")
        assert page.status_code == 200 and problems(page.text, lang) == []
        assert ('lang="zh-CN"' if lang == "zh" else 'lang="en"') in page.text
    for who, paths in pages.items():
        async with httpx.AsyncClient(base_url=api_url, timeout=60) as browser:
            await sign_in(browser, tokens[who], lang)
            for path in paths:
                page = await browser.get(path)
                assert page.status_code in (200, 404), (path, page.status_code, page.text[:500])
                assert problems(page.text, lang, (f"test {who}",)) == [], (who, path)
                seen += 1
    assert seen == 13
    # The same case page in the other language really is in that language.
    zh_only = re.compile(r"[\u4e00-\u9fff]")
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as browser:
        await sign_in(browser, tokens["officer"], lang)
        text = visible_text((await browser.get(f"/cases/{cid}")).text)
        if lang == "en":
            assert "In mediation" in text and "Timeline" in text
        else:
            assert "调解中" in text and "办理经过" in text and zh_only.search(text)


async def test_the_session_cookie_is_secure_over_https(
    api_url: str, tokens: dict[str, str]
) -> None:
    """Behind the deployment's TLS proxy (uvicorn trusts X-Forwarded-Proto from it) every
    console cookie is Secure; and each is HttpOnly, SameSite=Lax."""
    https = {"X-Forwarded-Proto": "https"}
    async with httpx.AsyncClient(base_url=api_url, headers=https) as http:
        page = await http.get("/signin")
        first = page.headers["set-cookie"]
        assert first.startswith("mediation_signin_csrf=") and "Secure" in first
        token = CSRF.search(page.text)[1]
        r = await http.post(
            "/signin",
            data={"csrf_token": token, "token": tokens["officer"]},
            headers={"Cookie": f"mediation_signin_csrf={token}"},  # a Secure cookie, by hand
        )
        assert r.status_code == 303, r.text
        cookie = next(
            v
            for k, v in r.headers.multi_items()
            if k == "set-cookie" and v.startswith("mediation_session=")
        )
        for flag in ("Secure", "HttpOnly", "SameSite=lax", "expires=", "Path=/"):
            assert flag in cookie, (flag, cookie)


async def test_a_form_without_its_csrf_secret_is_refused(
    api_url: str, tokens: dict[str, str], http: httpx.AsyncClient
) -> None:
    """Sign-in included: a form posted from elsewhere carries no secret and does nothing."""
    r = await http.post("/signin", data={"token": tokens["officer"]})
    assert r.status_code == 403 and "mediation_session" not in r.headers.get("set-cookie", "")
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as browser:
        await sign_in(browser, tokens["officer"])
        before = await http.get("/api/v1/cases", headers=auth(tokens["officer"]))
        body = {"dispute_type": "family", "channel": "walk_in", "summary": "x", "town": "三庙镇"}
        r = await browser.post("/cases/new", data={**body, "csrf_token": "guess"})
        assert r.status_code == 403
        after = await http.get("/api/v1/cases", headers=auth(tokens["officer"]))
        assert after.json()["total"] == before.json()["total"]


async def test_the_supervisor_assigns_from_the_escalations(
    api_url: str, tokens: dict[str, str], http: httpx.AsyncClient
) -> None:
    """A collective dispute waits for the supervisor (R11); the escalations page lists it,
    its assign form offers every organisation with its open load, and assigning from the
    form sends it to that organisation's mediators."""
    r = await post_case(http, tokens["officer"], intake_json(flags=[RiskFlag.collective]))
    case = r.json()
    assert case["status"] == "awaiting_supervisor", case
    async with httpx.AsyncClient(base_url=api_url, timeout=60) as browser:
        csrf = await sign_in(browser, tokens["supervisor"])
        queue = visible_text((await browser.get("/escalations")).text)
        assert case["case_no"] in queue.split("红色预警未确认")[0]  # under "awaiting supervisor"
        page = (await browser.get(f"/cases/{case['case_id']}")).text
        assert "七间社区五老工作室（在办" in visible_text(page)
        key = re.search(
            r'action="/cases/[^/]+/assign".*?name="form_key" value="([^"]+)"', page, re.S
        )
        assert key is not None
        form = {
            "csrf_token": csrf,
            "form_key": key[1],
            "org_id": "fe-sanmiao-qijian",
            "mediator_id": "",
            "reason": "由七间社区五老工作室联合调解",
        }
        r = await browser.post(f"/cases/{case['case_id']}/assign", data=form)
        assert r.status_code == 303 and r.headers["location"].endswith("?done=assign")
        shown = visible_text((await browser.get(r.headers["location"])).text)
        assert "已办理：分派" in shown and "待受理" in shown and "七间社区五老工作室" in shown
        # Unknown organisation: the form says so beside the field, nothing recorded.
        bad = {**form, "form_key": "another", "org_id": "no-such-org"}
        r = await browser.post(f"/cases/{case['case_id']}/assign", data=bad)
        assert r.status_code == 422 and "名册中没有该组织或调解员" in visible_text(r.text)
