"""One route per command (DESIGN §6): each runs exactly one workflow Update.

The workflow decides whether a command is legal (its validator); api/commands.py
authorises, runs the Update and translates the answer (409 when the validator says no, with
its reason); this module only binds each command to its path and body.
"""
# No `from __future__ import annotations` here: FastAPI must see the body classes that the
# route factory closes over.

from fastapi import APIRouter

from api.commands import perform
from api.deps import PrincipalDep, RuntimeDep
from api.idempotency import IdempotencyKeyHeader
from api.problems import error_responses
from api.schemas import CaseOut
from models.case import Strict
from models.commands import INPUT_OF, Action

router = APIRouter(prefix="/api/v1/cases", tags=["case actions"])
RESPONSES = error_responses(401, 403, 404, 409, 422, 503)


def _make_route(action: Action, body_type: type[Strict]) -> None:
    async def run_command(
        case_id: str,
        body: body_type,  # type: ignore[valid-type]
        rt: RuntimeDep,
        principal: PrincipalDep,
        idempotency_key: IdempotencyKeyHeader = None,
    ) -> CaseOut:
        return await perform(rt, principal, case_id, action, body, idempotency_key)

    run_command.__name__ = f"case_{action.update_name}"
    router.add_api_route(
        f"/{{case_id}}/{action.value}",
        run_command,
        methods=["POST"],
        response_model=CaseOut,
        responses=RESPONSES,
        summary=f"{action.value} (one workflow Update)",
        operation_id=f"case_{action.update_name}",
    )


for _action, _input in INPUT_OF.items():
    _make_route(_action, _input.body_type())
