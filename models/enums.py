"""Enumerations of the domain (DESIGN §1–§6). Values are the API contract."""

from __future__ import annotations

from enum import StrEnum


class DisputeType(StrEnum):
    family = "family"
    marriage = "marriage"
    labor = "labor"
    neighbor = "neighbor"
    other = "other"


class Channel(StrEnum):
    public_app = "public_app"
    hotline = "hotline"
    walk_in = "walk_in"
    grid_worker = "grid_worker"
    police_referral = "police_referral"
    court_referral = "court_referral"
    petition_referral = "petition_referral"


class PartyRole(StrEnum):
    applicant = "applicant"
    respondent = "respondent"
    third_party = "third_party"


class RiskFlag(StrEnum):
    self_harm = "self_harm"
    violence = "violence"
    weapon = "weapon"
    domestic_violence = "domestic_violence"
    minor_involved = "minor_involved"
    elderly = "elderly"
    collective = "collective"


class RiskLevel(StrEnum):
    green = "green"
    yellow = "yellow"
    red = "red"


class CaseStatus(StrEnum):
    registered = "registered"
    awaiting_supervisor = "awaiting_supervisor"
    awaiting_acceptance = "awaiting_acceptance"
    in_mediation = "in_mediation"
    follow_up = "follow_up"
    closed = "closed"


class Outcome(StrEnum):
    resolved = "resolved"
    resolved_on_site = "resolved_on_site"
    not_accepted = "not_accepted"
    refused = "refused"
    terminated = "terminated"
    referred_arbitration = "referred_arbitration"
    referred_court = "referred_court"
    referred_department = "referred_department"
    withdrawn = "withdrawn"


class OrgKind(StrEnum):
    five_elders_studio = "five_elders_studio"
    veterans_mediation_room = "veterans_mediation_room"
    union_labor_committee = "union_labor_committee"
    womens_federation_marriage_committee = "womens_federation_marriage_committee"
    town_mediation_committee = "town_mediation_committee"
    professional_mediation_org = "professional_mediation_org"


class Role(StrEnum):
    officer = "officer"
    mediator = "mediator"
    supervisor = "supervisor"
    admin = "admin"


class NotificationKind(StrEnum):
    assignment = "assignment"
    acceptance_reminder = "acceptance_reminder"
    risk_alert = "risk_alert"
    supervisor_alert = "supervisor_alert"
    deadline_reminder = "deadline_reminder"
    arbitration_rights = "arbitration_rights"
    termination_routes = "termination_routes"
    follow_up_due = "follow_up_due"
    follow_up_overdue = "follow_up_overdue"
    performance_urge = "performance_urge"  # R9: the parties urged to perform the agreement
    closure = "closure"


class FollowUpResult(StrEnum):
    performed = "performed"
    partially_performed = "partially_performed"
    not_performed = "not_performed"
    unreachable = "unreachable"


class Specialty(StrEnum):
    """A professional mediation body's specialty (专业类调解), as an intake may name it: the
    roster's `specialty` of the body that takes it (activities/routing.py)."""

    medical = "medical"
    traffic = "traffic"
    property = "property"
    consumer = "consumer"


class RejectionGround(StrEnum):
    """Why a dispute is not accepted for people's mediation (R2; PML art. 18)."""

    court_or_police_accepted = "court_or_police_accepted"  # already before a court or the police
    criminal = "criminal"  # a crime or a public-order offence
    specialised_authority = "specialised_authority"  # the law gives it to a specialised body
    administrative = "administrative"  # an administrative dispute


# Audiences that are not parties of the case; the gateway maps them to people (README).
POLICE_LIAISON, DUTY_SUPERVISOR = "police_liaison", "duty_supervisor"


class ErasureBasis(StrEnum):
    """Why a case's personal data is erased (PIPL art. 47)."""

    retention_period_ended = "retention_period_ended"
    purpose_fulfilled = "purpose_fulfilled"
    data_subject_request = "data_subject_request"
    legal_obligation = "legal_obligation"


class ReportKind(StrEnum):
    """What a report from the public app or a grid worker is (R13): 社情民意, 诉求, 突发事件,
    矛盾纠纷."""

    opinion = "opinion"
    request = "request"
    emergency = "emergency"
    dispute = "dispute"


class ReportChannel(StrEnum):
    """Where reports come from: the intake channels of the same names."""

    public_app = "public_app"
    grid_worker = "grid_worker"


class ReportStatus(StrEnum):
    """A report's progress; all but the first two are final."""

    received = "received"
    awaiting_acknowledgement = "awaiting_acknowledgement"  # an emergency, until a supervisor acks
    acknowledged = "acknowledged"
    referred_department = "referred_department"  # an opinion or request, to its department
    case_opened = "case_opened"  # a dispute, now a mediation case
