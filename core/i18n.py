"""The words people read, in one catalogue (messages.toml; DESIGN §10): the console's pages
(zh-CN by default, English by switch or by the browser's Accept-Language), and the Chinese
of the documents and reports. Times in Asia/Shanghai."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LANGS = ("zh", "en")
DEFAULT = "zh"
ZONE = ZoneInfo("Asia/Shanghai")
CATALOGUE = Path(__file__).with_name("messages.toml")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    """`section.name` → {"zh": …, "en": …}."""
    with CATALOGUE.open("rb") as f:
        raw = tomllib.load(f)
    return {
        f"{section}.{name}": texts
        for section, names in raw.items()
        for name, texts in names.items()
    }


def negotiate(chosen: str | None, accept_language: str | None) -> str:
    """The language a page speaks: the person's switch (cookie), else the first of the
    browser's languages we have, else Chinese."""
    if chosen in LANGS:
        return chosen
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return DEFAULT


@dataclass(frozen=True)
class Translator:
    lang: str

    def __call__(self, key: str, **values: Any) -> str:
        entry = catalogue().get(key)
        if entry is None:
            # A missing entry shows its key, which the catalogue test looks for on every page.
            return key
        return entry[self.lang].format(**values) if values else entry[self.lang]

    def field(self, name: str, scope: str | None = None) -> str:
        """A field's label, as a form or step (`scope`) names it, if it has its own."""
        own = f"field_for.{scope}.{name}"
        return self(own) if scope and own in catalogue() else self(f"field.{name}")

    def enum(self, section: str, value: Enum | str | None) -> str:
        """An enum value in words: `status.in_mediation` → 调解中."""
        if value is None:
            return self("outcome.none")
        return self(f"{section}.{value.value if isinstance(value, Enum) else value}")

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")

    def day(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            return self.when(value)[:10]
        return value.isoformat()

    def days_left(self, due: datetime | None, now: datetime | None = None) -> str:
        """How long is left, in whole days (a part day counts as a day), or how far over."""
        if due is None:
            return ""
        seconds = (due - (now or datetime.now(UTC))).total_seconds()
        if seconds < 0:
            return self("case.days_over", n=math.ceil(-seconds / 86400))
        days = math.ceil(seconds / 86400)
        return self("case.due_today") if days == 0 else self("case.days_left", n=days)

    def refusal(self, reason: str, otherwise: str = "refusal.other") -> str:
        """A workflow's reason for refusing a command (workflows/rules.py), in words; the
        `otherwise` entry for a reason the catalogue does not know."""
        for pattern, key in REFUSALS:
            if m := pattern.fullmatch(reason.strip()):
                values = {k: self(f"{CODE_SECTION[k]}.{v}") for k, v in m.groupdict().items()}
                return self(key, **values)
        return self(otherwise)


# The refusals of workflows/rules.py and api/commands.py, matched whole. A test walks every
# string the rules can return and finds it here (tests/test_console_pages.py). The codes
# a reason quotes are named by the catalogue section of their group.
CODE_SECTION = {"action": "action", "status": "status", "role": "role", "level": "risk_level"}
REFUSALS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), key)
    for p, key in (
        (
            r"'(?P<action>[\w/-]+)' is not possible while the case is (?P<status>\w+)",
            "refusal.not_now",
        ),
        (r"there is no open risk alert to acknowledge", "refusal.no_alert"),
        (
            r"the red-risk alert must be acknowledged before mediation goes on \(R3\)",
            "refusal.alert_first",
        ),
        (
            r"the mediation period has already been extended the most times allowed \(R6\)",
            "refusal.max_extensions",
        ),
        (r"there is no agreement to confirm", "refusal.no_agreement"),
        (r"judicial confirmation is already recorded", "refusal.confirmed"),
        (r"the 30-day window for judicial confirmation has passed \(R8\)", "refusal.window_passed"),
        (r"a command must name the person who sends it", "refusal.no_actor"),
        (r"the (?P<role>\w+) role may not '(?P<action>[\w/-]+)' a case", "refusal.role"),
        (
            r"a non-public case is handled by its organisation and the supervisors \(R10\)",
            "refusal.non_public",
        ),
        (r"the case is not assigned to your organisation", "refusal.not_your_org"),
        (r"the case is assigned to another mediator", "refusal.other_mediator"),
        (r"a mediator accepts cases for themself only", "refusal.accept_self"),
        (r"both parties must consent \(R6, R9\)", "refusal.consent"),
        (
            r"an agreement takes effect only when the parties have signed it \(R7\)",
            "refusal.unsigned",
        ),
        (
            r"an on-site settlement is reached at the mediator's first session \(R14\)",
            "refusal.on_site_first",
        ),
        (
            r"judicial confirmation needs the parties' joint application \(R8\)",
            "refusal.joint_application",
        ),
        (r"a collective dispute is at least yellow risk \(R11\)", "refusal.collective_floor"),
        (r"the risk level is already (?P<level>\w+)", "refusal.same_level"),
        (r"the case is closed", "refusal.closed"),
    )
)
