"""Who belongs where: the one check that an organisation exists and a mediator belongs to it,
and whom a non-party audience of the outbox reaches.

The workflow's resolver activity (a supervisor's assignment, an acceptance) and the
creation of a mediator's principal both ask here; so does the outbox, for its contacts.
"""

from __future__ import annotations

from sqlmodel import Session

from models.case import Assignment
from models.tables import Contact, Mediator, Organization


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


def contact_for(session: Session, audience: str) -> Contact | None:
    """The roster's contact for a non-party audience (`police_liaison`, `duty_supervisor`,
    `supervisors`, `org:<id>`, `mediator:<id>`); a mediator without a number of their own is
    reached through their organisation's. None when the roster has no one."""
    contact = session.get(Contact, audience)
    if contact is None and audience.startswith("mediator:"):
        mediator = session.get(Mediator, audience.removeprefix("mediator:"))
        if mediator is not None:
            return session.get(Contact, f"org:{mediator.org_id}")
    return contact
