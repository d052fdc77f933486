"""A case's documents (DESIGN §6, §7): which exist, and each as DOCX. Access is the case's
read scope; the parties' particulars are masked for those who see them masked; every
download is in the audit log (api/audit.py audits every route here)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel
from sqlmodel import Session, select

from api.access import MAY_READ_CASES, require_readable, require_role
from api.cases import load_case, parties_out
from api.deps import Principal, PrincipalDep, RuntimeDep
from api.problems import error_responses
from cases.documents import KINDS, CaseFile
from core.envelope import DataKeys
from models.tables import Notification
from store.sealing import open_summary, opened_events

router = APIRouter(prefix="/api/v1/cases", tags=["documents"])
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


class DocumentOut(BaseModel):
    kind: str
    n: int | None
    title: str
    on: str  # the date it bears (Asia/Shanghai)
    href: str


def case_file(session: Session, principal: Principal, case_id: str, keys: DataKeys) -> CaseFile:
    require_role(principal, MAY_READ_CASES, "read cases")
    case = require_readable(principal, load_case(session, case_id))
    events = opened_events(session, keys, case_id)
    kinds = set(session.exec(select(Notification.kind).where(Notification.case_id == case_id)))
    parties = [p.model_dump() for p in parties_out(session, principal, case, keys)]
    summary = open_summary(keys.sealer(case_id, session), case)
    return CaseFile(case.model_copy(update={"summary": summary}), events, parties, kinds)


@router.get(
    "/{case_id}/documents",
    response_model=list[DocumentOut],
    responses=error_responses(401, 403, 404, 422),
)
async def list_documents(
    case_id: str, rt: RuntimeDep, principal: PrincipalDep
) -> list[DocumentOut]:
    """The documents the case has now, in the order of its case file."""
    docs = await rt.db(lambda s: case_file(s, principal, case_id, rt.keys).documents())
    return [
        DocumentOut(
            kind=d.kind,
            n=d.n,
            title=d.title,
            on=d.on.isoformat(),
            href=f"/api/v1/cases/{case_id}/documents/{d.path}",
        )
        for d in docs
    ]


DOC_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {DOCX: {}}, "description": "the document (DOCX)"}
}


async def download(
    rt: RuntimeDep, principal: Principal, case_id: str, kind: str, n: int | None
) -> Response:
    if kind not in KINDS:
        raise HTTPException(404, "no such document kind")

    def render(s: Session) -> tuple[bytes, str]:
        docs = case_file(s, principal, case_id, rt.keys)
        doc = docs.find(kind, n)
        if doc is None:
            raise HTTPException(404, "the case has no such document (yet)")
        return docs.render(doc), f"{docs.case.case_no}-{doc.path.replace('/', '-')}"

    body, name = await rt.db(render)
    disposition = f"attachment; filename=\"{name}.docx\"; filename*=UTF-8''{quote(name)}.docx"
    return Response(body, media_type=DOCX, headers={"Content-Disposition": disposition})


@router.get(
    "/{case_id}/documents/{kind}",
    response_class=Response,
    responses={**DOC_RESPONSES, **error_responses(401, 403, 404, 422)},
)
async def get_document(
    case_id: str, kind: str, rt: RuntimeDep, principal: PrincipalDep
) -> Response:
    """One document as DOCX: `registration`, `agreement` (the labor variant for a labor
    case), `oral_agreement`, `arbitration_notice`, `termination_notice`, `case_file`."""
    return await download(rt, principal, case_id, kind, None)


@router.get(
    "/{case_id}/documents/follow_up/{n}",
    response_class=Response,
    responses={**DOC_RESPONSES, **error_responses(401, 403, 404, 422)},
)
async def get_follow_up_record(
    case_id: str, n: Annotated[int, Path(ge=1, le=10_000)], rt: RuntimeDep, principal: PrincipalDep
) -> Response:
    """The record of the case's n-th follow-up visit (1 is the first)."""
    return await download(rt, principal, case_id, "follow_up", n)
