"""Search attributes of a case (DESIGN §3): nothing personal, registered before use."""

from __future__ import annotations

from typing import Any

from temporalio.common import SearchAttributeKey

CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
DISPUTE_TYPE = SearchAttributeKey.for_keyword("DisputeType")
RISK_LEVEL = SearchAttributeKey.for_keyword("RiskLevel")
ORG_ID = SearchAttributeKey.for_keyword("OrgId")
OVERDUE = SearchAttributeKey.for_bool("Overdue")

ALL: list[SearchAttributeKey[Any]] = [CASE_STATUS, DISPUTE_TYPE, RISK_LEVEL, ORG_ID, OVERDUE]


def cli_registrations() -> list[str]:
    """`NAME=Type` pairs for `temporal server start-dev --search-attribute`."""
    names = {1: "Text", 2: "Keyword", 3: "Int", 4: "Double", 5: "Bool", 6: "Datetime"}
    return [f"{k.name}={names[int(k.indexed_value_type)]}" for k in ALL]
