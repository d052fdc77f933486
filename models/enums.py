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
    closure = "closure"


class FollowUpResult(StrEnum):
    performed = "performed"
    partially_performed = "partially_performed"
    not_performed = "not_performed"
    unreachable = "unreachable"


# Audiences that are not parties of the case; the gateway maps them to people (README).
POLICE_LIAISON, DUTY_SUPERVISOR = "police_liaison", "duty_supervisor"
