"""The console's pages (DESIGN §10): sign-in, each role's queues, the case list, intake, the
case page and its command forms, the dashboard. Every action runs through api/commands.py,
the path the JSON API takes (one workflow Update each); nothing here decides what is legal."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.access import MAY_INTAKE, MAY_SEE_STATS
from api.cases import query_cases, read_case
from api.commands import perform, register
from api.routes.documents import download
from api.routes.stats import stats as read_stats
from console import forms, views
from console.render import HOME, LANG_COOKIE, Ctx, context, safe_next, to_signin
from console.session import (
    COOKIE,
    CSRF_FIELD,
    SIGNIN_CSRF_COOKIE,
    close_session,
    open_session,
    same_secret,
    set_cookie,
)
from core.i18n import LANGS
from models.case import IntakeRequest, PartyIn
from models.commands import INPUT_OF, Action
from models.enums import CaseStatus, DisputeType, RiskLevel, Role
from store.principals import principal_for_token

router = APIRouter(include_in_schema=False)
CtxDep = Annotated[Ctx, Depends(context)]
FORM_KEY = "form_key"  # the form's Idempotency-Key: a double click sends it twice


def _refusal(ctx: Ctx, exc: HTTPException) -> str:
    """An HTTPException of api/commands.py in words."""
    detail = str(exc.detail)
    match exc.status_code:
        case 409:
            return ctx.t("error.refused", reason=ctx.t.refusal(detail))
        case 403:
            return ctx.t.refusal(detail, otherwise="error.forbidden")
        case 422:
            return ctx.t("error.key_reused")
        case 503:
            return ctx.t("error.unavailable")
    return ctx.t("error.server")


async def _posted(ctx: Ctx) -> FormData | Response:
    """The posted form, if it carries this session's CSRF secret."""
    form = await ctx.request.form()
    if ctx.signed is None:
        return to_signin(ctx.request)
    if not same_secret(form.get(CSRF_FIELD), ctx.signed.csrf):
        return ctx.error(403, "error.csrf")
    return form


# --- sign-in, sign-out, language ---------------------------------------------------------


@router.get("/signin")
async def signin_page(ctx: CtxDep, next: str = "/", out: bool = False) -> Response:
    token = ctx.request.cookies.get(SIGNIN_CSRF_COOKIE) or uuid.uuid4().hex
    page = ctx.page("signin.html", next=safe_next(next), form_csrf=token, signed_out=out)
    set_cookie(ctx.request, page, SIGNIN_CSRF_COOKIE, token, None)
    return page


@router.post("/signin")
async def signin(ctx: CtxDep) -> Response:
    form = await ctx.request.form()
    target = safe_next(str(form.get("next") or "/"))
    sent = form.get(CSRF_FIELD)
    if not same_secret(sent, ctx.request.cookies.get(SIGNIN_CSRF_COOKIE)):
        return ctx.error(403, "error.csrf")
    token = str(form.get("token") or "").strip()
    row = await ctx.rt.db(lambda _s: principal_for_token(ctx.rt.engine, token)) if token else None
    if row is None or row.role == Role.admin.value:
        key = "signin.invalid" if row is None else "signin.admin_no_console"
        return ctx.page("signin.html", 401, next=target, form_csrf=sent, error=ctx.t(key))
    ttl = timedelta(hours=ctx.rt.settings.console_session_hours)
    session_id, ends = await ctx.rt.db(lambda s: open_session(s, row.id, ttl))
    answer = RedirectResponse(target, status_code=303)
    set_cookie(ctx.request, answer, COOKIE, session_id, ends)
    answer.delete_cookie(SIGNIN_CSRF_COOKIE, path="/")
    return answer


@router.post("/signout")
async def signout(ctx: CtxDep) -> Response:
    form = await _posted(ctx)
    if isinstance(form, Response):
        return form
    session_id = ctx.request.cookies.get(COOKIE)
    await ctx.rt.db(lambda s: close_session(s, session_id))
    answer = RedirectResponse("/signin?out=1", status_code=303)
    answer.delete_cookie(COOKIE, path="/")
    return answer


@router.get("/lang/{lang}")
async def switch_language(request: Request, lang: str, next: str = "/") -> Response:
    answer = RedirectResponse(safe_next(next), status_code=303)
    if lang in LANGS:
        answer.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return answer


@router.get("/")
async def home(ctx: CtxDep) -> Response:
    if stop := ctx.gate():
        return stop
    return RedirectResponse(HOME.get(ctx.principal.role, "/signin"), status_code=303)


# --- queues, list, dashboard ---------------------------------------------------------------


QUEUES = {  # path → (whose, its title, what it holds)
    "/work": (Role.mediator, "nav.my_work", views.mediator_queues),
    "/escalations": (Role.supervisor, "nav.escalations", views.supervisor_queues),
}


@router.get("/work")
@router.get("/escalations")
async def queues(ctx: CtxDep) -> Response:
    """A role's queues: the mediator's work, the supervisor's escalations."""
    role, title, build = QUEUES[ctx.request.url.path]
    if stop := ctx.gate({role}):
        return stop
    found = await ctx.rt.db(lambda s: build(s, ctx.principal))
    return ctx.page("queues.html", title=title, queues=found)


LIST_FILTERS = ("status", "dispute_type", "town", "risk_level", "overdue", "case_no")


@router.get("/cases")
async def case_list(ctx: CtxDep, page: int = 1) -> Response:
    if stop := ctx.gate():
        return stop
    q = ctx.request.query_params
    chosen = {k: q[k].strip() for k in LIST_FILTERS if q.get(k, "").strip()}
    filters: dict[str, Any] = dict(chosen)
    if "overdue" in filters:
        filters["overdue"] = filters["overdue"] == "1"
    try:
        found = await ctx.rt.db(
            lambda s: query_cases(s, ctx.principal, filters, max(1, min(page, 100000)), 20)
        )
    except HTTPException:
        return ctx.error(403, "error.forbidden")
    return ctx.page(
        "cases.html",
        found=found,
        chosen=chosen,
        statuses=list(CaseStatus),
        types=list(DisputeType),
        levels=list(RiskLevel),
    )


@router.get("/dashboard")
async def dashboard(ctx: CtxDep) -> Response:
    if stop := ctx.gate(MAY_SEE_STATS):
        return stop
    numbers = await ctx.rt.db(lambda s: read_stats(s, ctx.principal))
    orgs = await ctx.rt.db(lambda s: views.org_names(s))
    return ctx.page("dashboard.html", stats=numbers, org_names=orgs)


# --- intake --------------------------------------------------------------------------------


def _intake_page(ctx: Ctx, status: int = 200, **values: Any) -> Response:
    values.setdefault("data", {"parties": forms.blank_parties()})
    values.setdefault("key", uuid.uuid4().hex)
    values.setdefault("errors", {})
    return ctx.page(
        "intake.html",
        status,
        fields=forms.controls(IntakeRequest, ctx.t, skip=("parties",)),
        party_fields=forms.controls(PartyIn, ctx.t),
        **values,
    )


@router.get("/cases/new")
async def intake_form(ctx: CtxDep) -> Response:
    if stop := ctx.gate(MAY_INTAKE):
        return stop
    return _intake_page(ctx)


@router.post("/cases/new")
async def intake(ctx: CtxDep) -> Response:
    form = await _posted(ctx)
    if isinstance(form, Response):
        return form
    if ctx.principal.role not in MAY_INTAKE:
        return ctx.error(403, "error.forbidden")
    data = forms.read(IntakeRequest, form, ctx.t)
    key = str(form.get(FORM_KEY) or "") or uuid.uuid4().hex
    op = str(form.get("op") or "")
    if op == "add_party":
        data["parties"].append({"role": "third_party"})
        return _intake_page(ctx, data=data, key=key)
    if op.startswith("remove_party:") and op.split(":")[1].isdigit():
        index = int(op.split(":")[1])
        data["parties"] = [p for i, p in enumerate(data["parties"]) if i != index]
        return _intake_page(ctx, data=data, key=key)
    try:
        body = IntakeRequest.model_validate(data)
    except ValidationError as exc:
        errors = forms.errors(exc, ctx.t)
        return _intake_page(ctx, 422, data=data, key=key, errors=errors)
    try:
        case, _created = await register(ctx.rt, ctx.principal, body, key)
    except HTTPException as exc:
        return _intake_page(ctx, exc.status_code, data=data, key=key, failure=_refusal(ctx, exc))
    return RedirectResponse(f"/cases/{case.case_id}?done=intake", status_code=303)


# --- the case page and its commands --------------------------------------------------------


async def _case_page(ctx: Ctx, case_id: str, status: int = 200, **values: Any) -> Response:
    try:
        case = await read_case(ctx.rt, ctx.principal, case_id)
    except HTTPException as exc:
        if exc.status_code == 404:
            return ctx.error(404, "error.not_found")
        return ctx.error(exc.status_code, "error.forbidden")
    data = await views.case_page(ctx.rt, ctx.principal, case)
    command_forms = {
        action: forms.controls(INPUT_OF[Action(action)].body_type(), ctx.t)
        for action in case.allowed_actions
    }
    values.setdefault("errors", {})
    values.setdefault("posted", {})
    return ctx.page(
        "case.html",
        status,
        page=data,
        forms=command_forms,
        key=uuid.uuid4().hex,
        names=views.audience_names(data),
        details=views.event_details,
        history_line=views.history_line,
        audience=views.audience,
        **values,
    )


@router.get("/cases/{case_id}")
async def case_view(ctx: CtxDep, case_id: str, done: str | None = None) -> Response:
    if stop := ctx.gate():
        return stop
    return await _case_page(ctx, case_id, done=done if done in {*Action, "intake"} else None)


@router.post("/cases/{case_id}/{action:path}")
async def case_command(ctx: CtxDep, case_id: str, action: str) -> Response:
    form = await _posted(ctx)
    if isinstance(form, Response):
        return form
    try:
        act = Action(action)
    except ValueError:
        return ctx.error(404, "error.page_not_found")
    body_type = INPUT_OF[act].body_type()
    data = forms.read(body_type, form, ctx.t)
    try:
        body = body_type.model_validate(data)
    except ValidationError as exc:
        errors = {act.value: forms.errors(exc, ctx.t)}
        return await _case_page(
            ctx, case_id, 422, errors=errors, posted={act.value: data}, open=act.value
        )
    key = str(form.get(FORM_KEY) or "") or None
    try:
        await perform(ctx.rt, ctx.principal, case_id, act, body, key)
    except RequestValidationError:
        errors = {act.value: {"org_id": ctx.t("error.unknown_assignee")}}
        return await _case_page(
            ctx, case_id, 422, errors=errors, posted={act.value: data}, open=act.value
        )
    except HTTPException as exc:
        if exc.status_code == 404:
            return ctx.error(404, "error.not_found")
        return await _case_page(
            ctx,
            case_id,
            exc.status_code,
            failure=_refusal(ctx, exc),
            posted={act.value: data},
            open=act.value,
        )
    return RedirectResponse(f"/cases/{case_id}?done={act.value}", status_code=303)


@router.get("/cases/{case_id}/documents/{path:path}")
async def case_document(ctx: CtxDep, case_id: str, path: str) -> Response:
    """A document of the case (DOCX), as the API gives it to this person."""
    if stop := ctx.gate():
        return stop
    kind, _, n = path.partition("/")
    try:
        return await download(ctx.rt, ctx.principal, case_id, kind, int(n) if n.isdigit() else None)
    except HTTPException:
        return ctx.error(404, "error.not_found")
