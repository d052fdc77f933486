"""The console in a real browser (Debian's Chromium under Playwright), as the centre works
it: an officer registers a family case from 七间社区, the studio's mediator finds it under
"my work" and carries it to a closed, resolved case, the supervisor's dashboard counts it.
Once in Chinese, once in English. Screenshots of every page land in var/screenshots/."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from docx import Document
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from core.i18n import Translator
from models.tables import Case, CaseEvent
from store.sealing import open_summary
from tests.browser import Hosts, shoot
from tests.conftest import TEST_DATA_KEYS
from tests.console_helpers import CSRF, visible_text
from tests.test_console_pages import problems

Page = Any


async def sign_in(
    browser: Any, api_url: str, token: str, lang: str, hosts: Hosts, by_header: bool = False
) -> Page:
    """A new browser signed in as the token's principal, speaking `lang`: by the switch on
    the page (from a Chinese browser), or (`by_header`) by the browser's own language."""
    locale = "en-US" if by_header and lang == "en" else "zh-CN"
    context = await browser.new_context(
        base_url=api_url, locale=locale, viewport={"width": 1280, "height": 900}
    )
    page = await context.new_page()
    page.on("request", hosts)
    await page.goto("/signin")
    t = Translator(lang)
    if lang == "en" and not by_header:
        await page.get_by_role("link", name="English").click()
        await page.wait_for_url(re.compile(r"/signin"))
    await shoot(page, f"{lang}-signin")
    await page.get_by_label(t("signin.token")).fill(token)
    await page.get_by_role("button", name=t("signin.submit")).click()
    await page.wait_for_load_state()
    return page


async def submit(
    page: Page, t: Translator, action: str, fields: dict[str, Any], double: bool = False
) -> None:
    """Open a command's form on the case page, fill it in and send it; wait for its answer."""
    action_label = t(f"action.{action}")
    block = page.locator("details.action", has=page.get_by_text(action_label, exact=True))
    await block.locator("summary").click()
    for label, value in fields.items():
        control = block.get_by_label(re.compile(r"^\s*" + re.escape(label)))  # "(optional)" after
        if value is True:
            await control.check()
        elif isinstance(value, tuple):
            await control.select_option(value[0])
        else:
            await control.fill(value)
    button = block.get_by_role("button", name=action_label)
    if double:
        await button.dblclick()
    else:
        await button.click()
    await page.wait_for_url(re.compile(rf"\?done={re.escape(action)}$"))


def steps(engine: Engine, case_id: str, kind: str) -> int:
    with Session(engine) as s:
        query = select(func.count()).where(CaseEvent.case_id == case_id, CaseEvent.kind == kind)
        return int(s.exec(query).one())


async def kpi(page: Page, name: str) -> int:
    await page.goto("/dashboard")
    return int(await page.locator(f'[data-kpi="{name}"]').inner_text())


@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_a_family_case_from_qijian_in_the_browser(
    chromium: Any, api_url: str, tokens: dict[str, str], engine: Engine, lang: str
) -> None:
    t = Translator(lang)
    hosts = Hosts()
    summary = f"婆媳因赡养费争吵，双方同意调解 {lang}-{datetime.now(UTC).timestamp()}"

    supervisor = await sign_in(chromium, api_url, tokens["supervisor"], lang, hosts, True)
    assert urlsplit(supervisor.url).path == "/escalations"
    resolved_before = await kpi(supervisor, "resolved")

    # The officer registers the case; a double click on submit records one case.
    started = datetime.now(UTC) - timedelta(seconds=5)
    officer = await sign_in(chromium, api_url, tokens["officer"], lang, hosts)
    await shoot(officer, f"{lang}-cases-list")
    await officer.get_by_role("link", name=t("nav.intake")).click()
    await officer.get_by_label(t("field.dispute_type")).select_option("family")
    await officer.get_by_label(t("field.channel")).select_option("walk_in")
    await officer.get_by_label(t("field.summary")).fill(summary)
    await officer.get_by_label(t("field.town")).fill("三庙镇")
    await officer.get_by_label(t("field.community")).fill("七间社区")
    await officer.locator("#f-parties-0-name").fill("王秀兰")
    await officer.locator("#f-parties-0-phone").fill("13800001111")
    await officer.locator("#f-parties-1-name").fill("李春梅")
    await officer.locator("#f-parties-1-phone").fill("13900002222")
    await officer.get_by_role("button", name=t("form.add_party")).click()  # and take it away
    assert await officer.locator("fieldset.party").count() == 3
    await officer.locator("#f-parties-0-name").fill("王秀兰")  # kept across the re-draw
    await officer.get_by_role("button", name=t("form.remove_party")).nth(2).click()
    assert await officer.locator("fieldset.party").count() == 2
    assert await officer.locator("#f-parties-1-phone").input_value() == "13900002222"
    await shoot(officer, f"{lang}-intake")
    await officer.get_by_role("button", name=t("form.submit")).dblclick()
    await officer.wait_for_url(re.compile(r"/cases/[^/?]+\?done=intake"))
    case_id = urlsplit(officer.url).path.rsplit("/", 1)[1]
    with Session(engine) as s:
        # One case with this summary (sealed in the store: opened to be compared).
        recent = s.exec(select(Case).where(col(Case.created_at) >= started)).all()
        same = [c for c in recent if open_summary(TEST_DATA_KEYS.sealer(c.id, s), c) == summary]
        assert [c.id for c in same] == [case_id]
        routed = s.get(Case, case_id)
        assert routed is not None and routed.mediator_id is not None
        routed_to = routed.mediator_id  # the studio's mediator routing chose (by load)
    studio_mediator = tokens[routed_to]
    text = visible_text(await officer.content())
    assert t("status.awaiting_acceptance") in text and "七间社区五老工作室" in text
    case_no = await officer.locator("h1").inner_text()
    await shoot(officer, f"{lang}-case-registered")

    # The studio's mediator finds it under "my work" and works it to the end.
    mediator = await sign_in(chromium, api_url, studio_mediator, lang, hosts)
    assert urlsplit(mediator.url).path == "/work"
    queue = mediator.locator(
        "section.queue",
        has=mediator.get_by_role(
            "heading", name=re.compile(re.escape(t("home.awaiting_acceptance")))
        ),
    )
    await shoot(mediator, f"{lang}-my-work")
    await queue.get_by_role("link", name=case_no.split()[-1]).click()
    await mediator.wait_for_url(re.compile(case_id))
    offered = {
        await s.inner_text() for s in await mediator.locator("details.action > summary").all()
    }
    async with httpx.AsyncClient(base_url=api_url) as http:
        api_case = (
            await http.get(
                f"/api/v1/cases/{case_id}",
                headers={"Authorization": f"Bearer {studio_mediator}"},
            )
        ).json()
    assert offered == {t(f"action.{a}") for a in api_case["allowed_actions"]}
    assert t("action.agreement") not in offered  # not before it is accepted

    await submit(mediator, t, "accept", {})
    assert t("status.in_mediation") in visible_text(await mediator.content())
    for opener in await mediator.locator("details.action > summary").all():
        await opener.click()  # every form of the case open, for the picture
    await shoot(mediator, f"{lang}-case-in-mediation")
    await mediator.goto(f"/cases/{case_id}")
    held = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    await submit(
        mediator,
        t,
        "sessions",
        {
            t("field.held_at"): held,
            t.field("summary", "sessions"): "双方到场，陈述各自意见",
            t("field.attendees"): "王秀兰\n李春梅",
        },
        double=True,
    )
    assert steps(engine, case_id, "session") == 1

    # The same form sent again by hand (the browser's guard bypassed): still one step.
    await mediator.goto(f"/cases/{case_id}")
    html = await mediator.content()
    block = mediator.locator(
        "details.action", has=mediator.get_by_text(t("action.sessions"), exact=True)
    )
    form = {
        "csrf_token": CSRF.search(html)[1],
        "form_key": await block.locator('input[name="form_key"]').get_attribute("value"),
        "held_at": held,
        "summary": "再次调解",
        "attendees": "",
    }
    for _ in range(2):
        r = await mediator.request.post(f"/cases/{case_id}/sessions", form=form, max_redirects=0)
        assert r.status == 303
    assert steps(engine, case_id, "session") == 2

    # Without the CSRF secret a form is refused, and nothing is recorded.
    forged = {k: v for k, v in form.items() if k != "csrf_token"} | {"form_key": "forged"}
    r = await mediator.request.post(f"/cases/{case_id}/sessions", form=forged, max_redirects=0)
    assert r.status == 403 and t("error.csrf") in await r.text()
    assert steps(engine, case_id, "session") == 2

    # An action the case does not allow, forced: the 409's reason, in words.
    r = await mediator.request.post(
        f"/cases/{case_id}/accept",
        form={
            "csrf_token": form["csrf_token"],
            "mediator_id": api_case["assignment"]["mediator_id"],
        },
        max_redirects=0,
    )
    refusal = t("refusal.not_now", status=t("status.in_mediation"), action=t("action.accept"))
    assert r.status == 409 and refusal in visible_text(await r.text())

    due = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    await submit(
        mediator,
        t,
        "agreement",
        {
            t("field.facts"): "王秀兰年迈，要求儿媳李春梅支付赡养费，双方争吵",
            t("field.points_in_dispute"): "赡养费的数额和支付方式",
            t("field.terms"): "李春梅每月向王秀兰支付赡养费500元",
            t("field.performance_manner"): "每月5日前银行转账",
            t("field.performance_due"): due,
            t("field.signed_by_parties"): True,
            t("field.written"): True,
        },
    )
    assert t("status.follow_up") in visible_text(await mediator.content())
    await submit(
        mediator,
        t,
        "follow-ups",
        {
            t("field.result"): ("performed",),
            t("field.notes"): "已按月支付",
            t("field.visited_at"): held,
        },
    )
    text = visible_text(await mediator.content())
    assert t("status.closed") in text and t("outcome.resolved") in text
    assert problems(await mediator.content(), lang, (f"test {routed_to}",)) == []
    await shoot(mediator, f"{lang}-case-closed")

    # The agreement, as the Word file the studio prints for the parties to sign.
    async with mediator.expect_download() as fetched:
        await mediator.get_by_role("link", name=t("document.agreement")).click()
    saved = await (await fetched.value).path()
    paper = "\n".join(p.text for p in Document(str(saved)).paragraphs)
    assert (
        "人民调解协议书" in paper
        and "赡养费的数额和支付方式" in paper
        and "每月5日前银行转账" in paper
    )

    # The supervisor's dashboard counts it.
    assert await kpi(supervisor, "resolved") == resolved_before + 1
    await shoot(supervisor, f"{lang}-dashboard")
    await supervisor.goto("/escalations")
    await shoot(supervisor, f"{lang}-escalations")

    # A mediator of another organisation: the case's URL is the same not-found page as a
    # case that does not exist.
    union = await sign_in(chromium, api_url, tokens["mediator_union"], lang, hosts)
    answer = await union.goto(f"/cases/{case_id}")
    assert answer is not None and answer.status == 404
    theirs = await union.locator("main").inner_text()
    answer = await union.goto("/cases/no-such-case")
    assert answer is not None and answer.status == 404
    assert await union.locator("main").inner_text() == theirs
    assert t("error.not_found") in theirs
    await shoot(union, f"{lang}-not-found")

    # The session cookie: HttpOnly, SameSite=Lax, not Secure over http, and it expires.
    cookies = {c["name"]: c for c in await mediator.context.cookies()}
    session = cookies["mediation_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax" and not session["secure"]
    hours = (session["expires"] - datetime.now(UTC).timestamp()) / 3600
    assert 7.9 < hours <= 8.0

    # Signing out ends the session: the old cookie opens nothing.
    await mediator.get_by_role("button", name=t("nav.sign_out")).click()
    await mediator.wait_for_url(re.compile(r"/signin"))
    async with httpx.AsyncClient(base_url=api_url) as http:
        http.cookies.set("mediation_session", session["value"])
        r = await http.get(f"/cases/{case_id}")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")

    assert hosts.seen == {urlsplit(api_url).netloc}


async def test_the_api_docs_render_offline(chromium: Any, api_url: str) -> None:
    hosts = Hosts()
    context = await chromium.new_context(base_url=api_url)
    page = await context.new_page()
    page.on("request", hosts)
    await page.goto("/docs")
    await page.locator(".opblock").first.wait_for(timeout=30_000)
    assert await page.locator(".opblock").count() >= 20
    assert await page.get_by_text("/api/v1/cases/{case_id}/accept").count() >= 1
    await shoot(page, "docs")
    await page.goto("/redoc")
    operation = page.get_by_role("heading", name="accept (one workflow Update)")
    await operation.first.wait_for(timeout=30_000)
    await shoot(page, "redoc")
    assert hosts.seen == {urlsplit(api_url).netloc}
