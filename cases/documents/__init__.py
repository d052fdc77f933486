"""The documents a case produces (DESIGN §6, issue 14), in Chinese, as editable DOCX from the
templates in ./templates (docxtpl; `python -m cases.documents.build` made them): filled from
the case store (the case's row, its timeline and the parties as the reader may see them)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate

from cases.documents.build import TEMPLATES as TEMPLATES_TEXT
from core.i18n import ZONE, Translator
from models.enums import DisputeType
from models.policy import Policy
from models.tables import Case, CaseEvent

TEMPLATES = Path(__file__).with_name("templates")
ARBITRATION_BODY = Translator("zh")("org.arbitration_body")
ROUTES = {
    DisputeType.labor: (
        f"向{ARBITRATION_BODY}申请劳动仲裁",
        "对仲裁裁决不服的，依法向人民法院提起诉讼",
    ),
    None: ("向人民法院提起诉讼", "向有关行政机关申请处理", "双方同意的，可以重新申请调解"),
}
# Each document's title, as its template heads it (build.py).
TITLES = {kind: title for kind, (title, _lines) in TEMPLATES_TEXT.items()}
KINDS = (
    "registration",
    "agreement",
    "oral_agreement",
    "arbitration_notice",
    "termination_notice",
    "follow_up",
    "case_file",
)


@dataclass(frozen=True)
class Document:
    kind: str  # an entry of KINDS
    n: int | None  # which follow-up visit
    title: str
    on: date

    @property
    def path(self) -> str:
        return f"{self.kind}/{self.n}" if self.n is not None else self.kind


def _day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def _chinese(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "____年__月__日"


class CaseFile:
    """Everything the documents of one case say, and which of them exist."""

    def __init__(
        self,
        case: Case,
        events: Sequence[CaseEvent],
        parties: Sequence[dict[str, Any]],  # role, name, phone, id_number, address (as seen)
        notified: set[str],  # the kinds of the case's notifications
    ) -> None:
        self.case, self.events, self.notified = case, list(events), notified
        self.t = Translator("zh")
        self.parties = [{**p, "role": self.t.enum("party_role", p["role"])} for p in parties]
        self.policy = Policy.model_validate(case.policy)
        self.state = case.state
        self.labor = case.dispute_type == DisputeType.labor.value

    def _events(self, kind: str) -> list[CaseEvent]:
        return [e for e in self.events if e.kind == kind]

    def documents(self) -> list[Document]:
        """The case's documents, in the order of the case file."""
        case = self.case
        out = [Document("registration", None, TITLES["registration"], _day(case.created_at))]
        for e in self._events("agreement"):
            kind = "agreement" if e.detail.get("written", True) else "oral_agreement"
            title = TITLES["labor_agreement" if kind == "agreement" and self.labor else kind]
            out.append(Document(kind, None, title, _day(e.occurred_at)))
        for e in self._events("arbitration_notice"):
            title = TITLES["arbitration_notice"]
            out.append(Document("arbitration_notice", None, title, _day(e.occurred_at)))
        for n, e in enumerate(self._events("follow_up"), start=1):
            title = f"{TITLES['follow_up']}（第{n}次）"
            out.append(Document("follow_up", n, title, _day(e.occurred_at)))
        if "termination_routes" in self.notified and case.closed_at is not None:
            title = TITLES["termination_notice"]
            out.append(Document("termination_notice", None, title, _day(case.closed_at)))
        last = case.closed_at or case.updated_at
        out.append(Document("case_file", None, TITLES["case_file"], _day(last)))
        return out

    def find(self, kind: str, n: int | None = None) -> Document | None:
        return next((d for d in self.documents() if d.kind == kind and d.n == n), None)

    # --- what the templates say ---------------------------------------------------------

    def _common(self) -> dict[str, Any]:
        t, case = self.t, self.case
        assignment = self.state.get("assignment") or {}
        return {
            "case_no": case.case_no,
            "dispute_type": t.enum("dispute_type", case.dispute_type),
            "channel": t.enum("channel", case.channel),
            "place": " ".join(x for x in (case.town, case.community) if x),
            "summary": case.summary,
            "risk_level": t.enum("risk_level", case.risk_level),
            "parties": self.parties,
            "party_names": "、".join(p["name"] for p in self.parties),
            "org_name": assignment.get("org_name") or "____________",
            "mediator_name": assignment.get("mediator_name") or "____________",
            "registered_on": _chinese(_day(case.created_at)),
            "closed_on": _chinese(_day(case.closed_at) if case.closed_at else None),
            "outcome": t.enum("outcome", case.outcome) if case.outcome else "（未结案）",
            "arbitration_body": ARBITRATION_BODY,
            "copies": len(self.parties) + 1,
        }

    def _agreement(self) -> dict[str, Any]:
        agreements = self._events("agreement")
        e = agreements[-1] if agreements else None
        detail = e.detail if e else {}
        due = detail.get("performance_due")
        agreed = _day(e.occurred_at) if e else None
        limit_from = date.fromisoformat(due) if due else agreed
        limitation = self.policy.labor_arbitration_limitation
        return {
            "facts": detail.get("facts") or "（未记录）",
            "points_in_dispute": detail.get("points_in_dispute") or "（未记录）",
            "terms": detail.get("terms", ""),
            "undertakings": [
                {
                    "who": self.t.enum("party_role", u.get("party_position")),
                    "obligation": u.get("obligation", ""),
                }
                for u in detail.get("undertakings") or []
            ],
            "performance_manner": detail.get("performance_manner") or "（未记录）",
            "performance_due": _chinese(date.fromisoformat(due)) if due else "（未约定）",
            "agreed_on": _chinese(agreed),
            "limitation_until": _chinese(limit_from + limitation if limit_from else None),
        }

    def context(self, doc: Document) -> dict[str, Any]:
        ctx = self._common()
        if doc.kind in ("agreement", "oral_agreement", "follow_up"):
            ctx |= self._agreement()
        if doc.kind == "arbitration_notice":
            e = self._events("arbitration_notice")[0]
            until = e.detail.get("arbitration_limitation_until")
            ctx |= {
                "limitation_until": _chinese(date.fromisoformat(until)) if until else "",
                "notice_on": _chinese(_day(e.occurred_at)),
            }
        if doc.kind == "termination_notice":
            ctx["routes"] = ROUTES[DisputeType.labor] if self.labor else ROUTES[None]
        if doc.kind == "follow_up":
            assert doc.n is not None
            e = self._events("follow_up")[doc.n - 1]
            visited = e.detail.get("visited_at")
            when = datetime.fromisoformat(visited) if visited else e.occurred_at
            ctx |= {
                "n": doc.n,
                "visited_at": self.t.when(when),
                "result": self.t.enum("follow_up_result", e.detail.get("result")),
                "notes": e.detail.get("notes") or "",
            }
        if doc.kind == "case_file":
            ctx["index"] = [
                {"title": d.title, "on": _chinese(d.on)}
                for d in self.documents()
                if d.kind != "case_file"
            ]
        return ctx

    def render(self, doc: Document) -> bytes:
        template = "labor_agreement" if doc.kind == "agreement" and self.labor else doc.kind
        tpl = DocxTemplate(str(TEMPLATES / f"{template}.docx"))
        tpl.render(self.context(doc))
        out = io.BytesIO()
        tpl.save(out)
        return out.getvalue()
