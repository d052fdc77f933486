"""The console's request context and page rendering: language, who is signed in, the
navigation their role has, and Jinja2 templates that get all of it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.deps import Principal, Runtime, runtime
from console.session import COOKIE, CSRF_FIELD, Signed, signed_in
from core.i18n import Translator, negotiate
from models.enums import Role

LANG_COOKIE = "mediation_lang"  # the language switch's choice
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))

NAV: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.officer: (
        ("/cases", "nav.cases"),
        ("/cases/new", "nav.intake"),
        ("/dashboard", "nav.dashboard"),
    ),
    Role.mediator: (("/work", "nav.my_work"), ("/cases", "nav.cases")),
    Role.supervisor: (
        ("/escalations", "nav.escalations"),
        ("/cases", "nav.cases"),
        ("/cases/new", "nav.intake"),
        ("/dashboard", "nav.dashboard"),
    ),
    Role.admin: (),
}
HOME = {Role.officer: "/cases", Role.mediator: "/work", Role.supervisor: "/escalations"}


@dataclass
class Ctx:
    request: Request
    rt: Runtime
    t: Translator
    signed: Signed | None

    @property
    def principal(self) -> Principal:
        assert self.signed is not None
        return self.signed.principal

    def page(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        signed = self.signed
        context = {
            "t": self.t,
            "lang": self.t.lang,
            "principal": signed.principal if signed else None,
            "csrf_field": CSRF_FIELD,
            "csrf": signed.csrf if signed else None,
            "nav": NAV[signed.principal.role] if signed else (),
            "path": self.request.url.path,
            "here": quote(_target(self.request), safe=""),  # for the language switch
            **values,
        }
        return templates.TemplateResponse(self.request, template, context, status_code=status)

    def gate(self, roles: Iterable[Role] | None = None) -> Response | None:
        """None when someone is signed in (with one of `roles`, if given); else the answer:
        to the sign-in page, or the forbidden page."""
        if self.signed is None:
            return to_signin(self.request)
        if roles is not None and self.principal.role not in roles:
            return self.error(403, "error.forbidden")
        return None

    def error(self, status: int, key: str, **values: Any) -> HTMLResponse:
        return self.page("error.html", status, message=self.t(key, **values), status_code=status)


async def context(request: Request) -> Ctx:
    rt = runtime(request)
    t = Translator(
        negotiate(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    )
    session_id = request.cookies.get(COOKIE)
    signed = await rt.db(lambda s: signed_in(s, session_id)) if session_id else None
    if signed is not None:
        request.state.principal = signed.principal  # for the audit log
    return Ctx(request, rt, t, signed)


def _target(request: Request) -> str:
    """This page's path and query, to come back to."""
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def to_signin(request: Request) -> Response:
    return RedirectResponse(f"/signin?next={quote(_target(request), safe='')}", status_code=303)


def safe_next(value: str | None) -> str:
    """Only a path of this site: never another host (an open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
