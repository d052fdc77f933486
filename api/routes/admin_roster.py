"""The roster, kept by the admin (DESIGN §7): organisations, mediators with their
capacities, and whom the outbox's non-party audiences reach (contacts: work numbers of
officials and mediation bodies, not parties' data). Reads of the roster with its load are
GET /organizations and GET /mediators (api/routes/roster.py), for everyone.

422 for a body that does not fit (or names an organisation the roster does not hold), 404
for an unknown id in the path, 409 for an id that is taken. Audited like every route.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, Field, StrictBool, StrictInt, model_validator
from sqlalchemy.exc import IntegrityError

from api.access import AdminDep
from api.deps import RuntimeDep
from api.problems import error_responses
from models.case import Strict
from models.enums import OrgKind
from models.tables import Contact, Mediator, Organization
from store import roster
from store.roster import NotInRoster, RosterConflict, UnknownAssignee

router = APIRouter(
    prefix="/api/v1", tags=["roster administration"], responses=error_responses(401, 403, 422)
)

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Place = Annotated[str, Field(min_length=1, max_length=64)]
PersonName = Annotated[str, Field(min_length=1, max_length=100)]
Capacity = Annotated[StrictInt, Field(ge=0, le=1000, description="open cases at most; 0: none")]
AUDIENCE = r"^(police_liaison|duty_supervisor|supervisors|org:[a-z0-9-]+|mediator:[a-z0-9-]+)$"
Audience = Annotated[str, Path(max_length=64, pattern=AUDIENCE)]


class _Patch(Strict):
    """Only the fields sent change; those the table requires cannot be set to null."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_where_required(self) -> _Patch:
        for name in self.model_fields_set:
            if getattr(self, name) is None and name not in self.NULLABLE:
                raise ValueError(f"{name} cannot be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set, mode="json")


class OrganizationIn(Strict):
    id: Id
    name: Name
    kind: OrgKind
    town: Place | None = None
    community: Place | None = None
    specialty: Place | None = Field(default=None, description="a professional body's category")
    active: StrictBool = True


class OrganizationPatch(_Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"town", "community", "specialty"})
    name: Name | None = None
    kind: OrgKind | None = None
    town: Place | None = None
    community: Place | None = None
    specialty: Place | None = None
    active: StrictBool | None = None


class OrganizationRow(BaseModel):
    id: str
    name: str
    kind: OrgKind
    town: str | None
    community: str | None
    specialty: str | None
    active: bool


class MediatorIn(Strict):
    id: Id | None = Field(default=None, description="default: the organisation's next <org>-m<n>")
    org_id: Id
    name: PersonName
    title: PersonName | None = None
    capacity: Capacity = 5
    active: StrictBool = True


class MediatorPatch(_Patch):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"title"})
    org_id: Id | None = Field(default=None, description="only with no open case of theirs")
    name: PersonName | None = None
    title: PersonName | None = None
    capacity: Capacity | None = None
    active: StrictBool | None = None


class MediatorRow(BaseModel):
    id: str
    org_id: str
    name: str
    title: str | None
    capacity: int
    active: bool


class ContactIn(Strict):
    name: PersonName = Field(description="the office, post or person the number reaches")
    phone: str = Field(min_length=3, max_length=32, pattern=r"^\+?[0-9][0-9 -]*$")


class ContactOut(BaseModel):
    audience: str
    name: str
    phone: str


def _unknown_org(exc: UnknownAssignee) -> HTTPException:
    return HTTPException(422, f"body.{exc.field}: {exc}")


async def _write(rt: RuntimeDep, fn: Any) -> Any:
    """One transaction; the roster's refusals as HTTP answers. A unique key hit by a
    concurrent request is the same conflict as one seen first."""
    try:
        return await rt.db(fn)
    except NotInRoster as exc:
        raise HTTPException(404, str(exc)) from None
    except RosterConflict as exc:
        raise HTTPException(409, str(exc)) from None
    except UnknownAssignee as exc:
        raise _unknown_org(exc) from None
    except IntegrityError:
        raise HTTPException(409, "the id is taken") from None


# --- organisations -------------------------------------------------------------------------


@router.post(
    "/organizations",
    status_code=201,
    response_model=OrganizationRow,
    responses=error_responses(409),
    summary="a new organisation",
)
async def organization_create(
    body: OrganizationIn, rt: RuntimeDep, _admin: AdminDep
) -> OrganizationRow:
    org = Organization(**body.model_dump(mode="json"))
    row = await _write(rt, lambda s: roster.create_organization(s, org))
    return OrganizationRow(**row.model_dump())


@router.patch(
    "/organizations/{org_id}",
    response_model=OrganizationRow,
    responses=error_responses(404),
    summary="change an organisation (inactive: no new cases are routed to it)",
)
async def organization_update(
    org_id: str, body: OrganizationPatch, rt: RuntimeDep, _admin: AdminDep
) -> OrganizationRow:
    row = await _write(rt, lambda s: roster.update_organization(s, org_id, body.changes()))
    return OrganizationRow(**row.model_dump())


# --- mediators -----------------------------------------------------------------------------


@router.post(
    "/mediators",
    status_code=201,
    response_model=MediatorRow,
    responses=error_responses(409),
    summary="a new mediator of an organisation",
)
async def mediator_create(body: MediatorIn, rt: RuntimeDep, _admin: AdminDep) -> MediatorRow:
    mediator = Mediator(**body.model_dump(exclude={"id"}), id=body.id or "")
    row = await _write(rt, lambda s: roster.create_mediator(s, mediator))
    return MediatorRow(**row.model_dump())


@router.patch(
    "/mediators/{mediator_id}",
    response_model=MediatorRow,
    responses=error_responses(404, 409),
    summary="change a mediator (capacity, active, or organisation when they hold no open case)",
)
async def mediator_update(
    mediator_id: str, body: MediatorPatch, rt: RuntimeDep, _admin: AdminDep
) -> MediatorRow:
    row, moved = await _write(rt, lambda s: roster.update_mediator(s, mediator_id, body.changes()))
    for principal_id in moved:  # their scope changed: no cached copy of the old one
        rt.principals.forget(principal_id)
    return MediatorRow(**row.model_dump())


# --- contacts ------------------------------------------------------------------------------


@router.get("/contacts", response_model=list[ContactOut], summary="whom each audience reaches")
async def contacts_list(rt: RuntimeDep, _admin: AdminDep) -> list[ContactOut]:
    rows: list[Contact] = await rt.db(roster.list_contacts)
    return [ContactOut(**c.model_dump()) for c in rows]


@router.put(
    "/contacts/{audience}",
    response_model=ContactOut,
    responses={201: {"description": "a new contact"}, **error_responses(404)},
    summary="set whom an audience reaches (a desk, org:<id> or mediator:<id>)",
)
async def contact_put(
    audience: Audience, body: ContactIn, response: Response, rt: RuntimeDep, _admin: AdminDep
) -> ContactOut:
    contact, created = await _write(
        rt, lambda s: roster.put_contact(s, audience, body.name, body.phone)
    )
    response.status_code = 201 if created else 200
    return ContactOut(**contact.model_dump())
