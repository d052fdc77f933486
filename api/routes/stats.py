"""Caseload statistics and the monthly report, for officers and supervisors (DESIGN §6, §7).

Both roles see figures over every case, non-public ones included: aggregates carry no
personal data (the rule as it has been; the figures and their meaning are api/statistics.py).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator

from api import reports
from api.access import MAY_SEE_STATS, require_role
from api.deps import PrincipalDep, SessionDep
from api.problems import error_responses
from api.schemas import Stats
from api.statistics import Scope, gather, month_scope

router = APIRouter(prefix="/api/v1", tags=["stats"], responses=error_responses(401, 403, 422))
# Query text the store can compare: no control characters (PostgreSQL refuses NUL).
TEXT = r"^[^\x00-\x1f\x7f]*$"
MONTH = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"


def _written_as_a_date(value: object) -> object:
    """YYYY-MM-DD, as the schema's `format: date` says; pydantic alone would also read a
    number as a Unix time."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        raise ValueError("a date is written YYYY-MM-DD")
    return value


Day = Annotated[date, BeforeValidator(_written_as_a_date)]


@router.get("/stats", response_model=Stats)
def stats(
    session: SessionDep,
    principal: PrincipalDep,
    first: Annotated[
        Day | None,
        Query(alias="from", description="first day of the period (registration date, CST)"),
    ] = None,
    last: Annotated[
        Day | None,
        Query(alias="to", description="last day of the period, included; not before `from`"),
    ] = None,
    org_id: Annotated[str | None, Query(max_length=64, pattern=TEXT)] = None,
    town: Annotated[str | None, Query(max_length=64, pattern=TEXT)] = None,
) -> Stats:
    """Statistics of the cases registered from `from` to `to` (both included; a case
    belongs to the period by the date of its `created_at` in Asia/Shanghai), assigned to
    `org_id` and in `town`; each left out means no bound. `from` after `to` answers 422."""
    require_role(principal, MAY_SEE_STATS, "see statistics")
    if first is not None and last is not None and first > last:
        raise RequestValidationError(
            [{"loc": ("query", "to"), "msg": "'to' is before 'from'", "type": "value_error"}]
        )
    return gather(session, Scope(first=first, last=last, org_id=org_id, town=town))


@router.get(
    "/reports/monthly",
    response_class=Response,
    responses={
        200: {
            "description": "the month's statistics: XLSX unless CSV is asked for",
            "content": {
                reports.XLSX: {"schema": {"type": "string", "format": "binary"}},
                reports.CSV: {"schema": {"type": "string"}},
            },
        }
    },
)
def monthly_report(
    session: SessionDep,
    principal: PrincipalDep,
    request: Request,
    month: Annotated[str, Query(pattern=MONTH, description="YYYY-MM")],
    form: Annotated[
        Literal["xlsx", "csv"] | None,
        Query(alias="format", description="overrides Accept (text/csv: CSV, else XLSX)"),
    ] = None,
) -> Response:
    """`/stats` for the cases registered in `month` (Asia/Shanghai dates), as a
    spreadsheet: one sheet per breakdown with a totals row, and a summary sheet. XLSX by
    default; CSV (UTF-8 with a BOM, the sections one after another) for `format=csv` or
    `Accept: text/csv`."""
    require_role(principal, MAY_SEE_STATS, "see statistics")
    figures = gather(session, month_scope(month))
    as_csv = form == "csv" or (form is None and reports.wants_csv(request.headers))
    body, media_type = (
        (reports.to_csv(figures, month), reports.CSV)
        if as_csv
        else (reports.to_xlsx(figures, month), reports.XLSX)
    )
    name = f"mediation-{month}.{'csv' if as_csv else 'xlsx'}"
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
