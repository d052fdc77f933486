"""Who belongs where: the one check that an organisation exists and a mediator belongs to it,
and whom a non-party audience of the outbox reaches; and the admin's changes to all of it.

The workflow's resolver activity (a supervisor's assignment, an acceptance) and the
creation of a mediator's principal both ask here; so does the outbox, for its contacts.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, func
from sqlmodel import Session, col, select

from core.db import read_row
from models.case import Assignment
from models.enums import DUTY_SUPERVISOR, POLICE_LIAISON, CaseStatus
from models.tables import ApiPrincipal, Case, Contact, Mediator, Organization


class UnknownAssignee(ValueError):
    """No such active organisation, or the mediator is not one of its active members."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field  # the body field at fault: org_id or mediator_id


def resolve_assignment(session: Session, org_id: str, mediator_id: str | None) -> Assignment:
    """The assignment with its names; raises UnknownAssignee when the ids do not fit."""
    org = session.get(Organization, org_id)
    if org is None or not org.active:
        raise UnknownAssignee("org_id", "unknown organisation")
    name = None
    if mediator_id is not None:
        mediator = session.get(Mediator, mediator_id)
        if mediator is None or mediator.org_id != org.id or not mediator.active:
            raise UnknownAssignee(
                "mediator_id", "the mediator does not belong to that organisation"
            )
        name = mediator.name
    return Assignment(org_id=org.id, org_name=org.name, mediator_id=mediator_id, mediator_name=name)


def contact_for(session: Session, audience: str) -> Row[Any] | None:
    """The roster's contact for a non-party audience (`police_liaison`, `duty_supervisor`,
    `supervisors`, `org:<id>`, `mediator:<id>`); a mediator without a number of their own is
    reached through their organisation's. None when the roster has no one."""
    contact = read_row(session, Contact, audience)
    if contact is None and audience.startswith("mediator:"):
        mediator = read_row(session, Mediator, audience.removeprefix("mediator:"))
        if mediator is not None:
            return read_row(session, Contact, f"org:{mediator.org_id}")
    return contact


# --- administration (DESIGN §7: the admin keeps the roster; api/routes/admin_roster.py) -----

# The outbox's desks (workflows/steps.py names them); organisations and mediators are
# reached as `org:<id>` and `mediator:<id>`.
DESK_AUDIENCES = (POLICE_LIAISON, DUTY_SUPERVISOR, "supervisors")


class RosterConflict(ValueError):
    """The id is taken, or the change would strand open cases (409)."""


class NotInRoster(LookupError):
    """No organisation, mediator or audience by that id (404)."""


def create_organization(session: Session, org: Organization) -> Organization:
    if session.get(Organization, org.id) is not None:
        raise RosterConflict(f"organisation {org.id!r} exists")
    session.add(org)
    return org


def update_organization(session: Session, org_id: str, changes: dict[str, Any]) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotInRoster(f"no organisation {org_id!r}")
    for name, value in changes.items():
        setattr(org, name, value)
    session.add(org)
    return org


def _open_cases_of(session: Session, mediator_id: str) -> int:
    stmt = select(func.count()).where(
        Case.mediator_id == mediator_id, Case.status != CaseStatus.closed.value
    )
    return int(session.exec(stmt).one())


def _next_mediator_id(session: Session, org_id: str) -> str:
    """`<org>-m<n>`, as the seed numbers them, with the first n not taken."""
    taken = set(session.exec(select(Mediator.id).where(Mediator.org_id == org_id)))
    n = len(taken) + 1
    while f"{org_id}-m{n}" in taken or session.get(Mediator, f"{org_id}-m{n}") is not None:
        n += 1
    return f"{org_id}-m{n}"


def create_mediator(session: Session, mediator: Mediator) -> Mediator:
    """A new member of an organisation; without an id, the organisation's next."""
    if session.get(Organization, mediator.org_id) is None:
        raise UnknownAssignee("org_id", "unknown organisation")
    if not mediator.id:
        mediator.id = _next_mediator_id(session, mediator.org_id)
    elif session.get(Mediator, mediator.id) is not None:
        raise RosterConflict(f"mediator {mediator.id!r} exists")
    session.add(mediator)
    return mediator


def update_mediator(
    session: Session, mediator_id: str, changes: dict[str, Any]
) -> tuple[Mediator, list[str]]:
    """The mediator changed; and the ids of principals whose organisation moved with them.

    A mediator moves to another organisation only with no open case of theirs (the cases
    stay with the organisation that holds them); their principals move along, since a
    mediator principal acts in its mediator's organisation."""
    mediator = session.get(Mediator, mediator_id)
    if mediator is None:
        raise NotInRoster(f"no mediator {mediator_id!r}")
    moved: list[str] = []
    new_org = changes.get("org_id")
    if new_org is not None and new_org != mediator.org_id:
        if session.get(Organization, new_org) is None:
            raise UnknownAssignee("org_id", "unknown organisation")
        if _open_cases_of(session, mediator_id):
            raise RosterConflict("the mediator has open cases: reassign them first")
        for p in session.exec(select(ApiPrincipal).where(ApiPrincipal.mediator_id == mediator_id)):
            p.org_id = new_org
            session.add(p)
            moved.append(p.id)
    for name, value in changes.items():
        setattr(mediator, name, value)
    session.add(mediator)
    return mediator, moved


def list_contacts(session: Session) -> list[Contact]:
    return list(session.exec(select(Contact).order_by(col(Contact.audience))))


def check_audience(session: Session, audience: str) -> None:
    """A desk, or `org:<id>` / `mediator:<id>` of the roster; NotInRoster otherwise."""
    kind, _, ident = audience.partition(":")
    found = (
        audience in DESK_AUDIENCES
        or (kind == "org" and session.get(Organization, ident) is not None)
        or (kind == "mediator" and session.get(Mediator, ident) is not None)
    )
    if not found:
        raise NotInRoster("no such audience")


def put_contact(session: Session, audience: str, name: str, phone: str) -> tuple[Contact, bool]:
    """Whom the audience reaches; True when the contact is new."""
    check_audience(session, audience)
    contact = session.get(Contact, audience)
    created = contact is None
    if contact is None:
        contact = Contact(audience=audience, name=name, phone=phone)
    else:
        contact.name, contact.phone = name, phone
    session.add(contact)
    return contact, created
