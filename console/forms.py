"""HTML forms for the API's bodies: the fields of a body model as form controls, a posted
form back into that model, and the model's validation errors as words beside each field.

The bodies are the API's own (models/commands.py, IntakeRequest): the console adds no rule
of its own, so a field the API gains appears here too."""

from __future__ import annotations

import types
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from core.i18n import ZONE, Translator
from models.enums import PartyRole

# Which catalogue section names an enum's values.
ENUM_SECTIONS = {
    "DisputeType": "dispute_type",
    "Channel": "channel",
    "PartyRole": "party_role",
    "RiskFlag": "risk_flag",
    "RiskLevel": "risk_level",
    "FollowUpResult": "follow_up_result",
    "RejectionGround": "rejection_ground",
    "Specialty": "specialty",
}
LONG_TEXT = 300  # a text field allowed longer than this is a textarea


@dataclass
class Control:
    """One form control: what it is called, how it is drawn, what it offers."""

    name: str
    widget: str  # text | textarea | lines | checkbox | select | checks | datetime | date | number
    required: bool
    max_length: int | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)  # (value, label)
    default: str | None = None  # what an empty form shows
    item: type[BaseModel] | None = None  # widget "rows": the model of each row,
    sub: list[Control] = field(default_factory=list)  # and its controls


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed)."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return (args[0] if len(args) == 1 else annotation), len(args) < len(get_args(annotation))
    return annotation, False


def controls(model: type[BaseModel], t: Translator, skip: tuple[str, ...] = ()) -> list[Control]:
    out = []
    for name, info in model.model_fields.items():
        if name in skip:
            continue
        kind, _optional = _unwrap(info.annotation)
        if get_origin(kind) is Annotated:  # StrictInt and the like
            kind = get_args(kind)[0]
        max_len = next((m.max_length for m in info.metadata if isinstance(m, MaxLen)), None)
        required = info.is_required()
        origin = get_origin(kind)
        if kind is bool:
            out.append(Control(name, "checkbox", False))
        elif isinstance(kind, type) and issubclass(kind, Enum):
            section = ENUM_SECTIONS[kind.__name__]
            choices = [(e.value, t.enum(section, e)) for e in kind]
            out.append(Control(name, "select", required, choices=choices))
        elif origin is list:
            (item,) = get_args(kind)
            if isinstance(item, type) and issubclass(item, BaseModel):
                # A row left blank is no row: the browser must not insist on its fields.
                sub = [replace(c, required=False) for c in controls(item, t)]
                rows = Control(name, "rows", required, item=item, sub=sub)
                out.append(rows)
            elif isinstance(item, type) and issubclass(item, Enum):
                section = ENUM_SECTIONS[item.__name__]
                choices = [(e.value, t.enum(section, e)) for e in item]
                out.append(Control(name, "checks", required, choices=choices))
            else:
                out.append(Control(name, "lines", required, max_len))
        elif kind is datetime:  # when it happened: most often just now, on a visit
            now = datetime.now(ZONE).strftime("%Y-%m-%dT%H:%M")
            out.append(Control(name, "datetime", required, default=now))
        elif kind is date:
            out.append(Control(name, "date", required))
        elif kind in (int, Decimal):
            out.append(Control(name, "number", required))
        else:
            widget = "textarea" if max_len is None or max_len > LONG_TEXT else "text"
            out.append(Control(name, widget, required, max_len))
    return out


def _value(control: Control, form: FormData, key: str) -> tuple[bool, Any]:
    """(present, value) of one control in a posted form."""
    if control.widget == "checkbox":
        return True, key in form
    if control.widget == "checks":
        return True, form.getlist(key)
    raw = form.get(key)
    text = raw.strip() if isinstance(raw, str) else ""
    if control.widget == "lines":
        return True, [line.strip() for line in text.splitlines() if line.strip()]
    if not text:
        return False, None
    if control.widget == "datetime":
        try:
            return True, datetime.fromisoformat(text).replace(tzinfo=ZONE).isoformat()
        except ValueError:
            return True, text  # the model says what is wrong with it
    if control.widget == "number":
        try:
            return True, int(text) if text.lstrip("-").isdigit() else Decimal(text)
        except ArithmeticError:
            return True, text
    return True, text


def read(model: type[BaseModel], form: FormData, t: Translator, prefix: str = "") -> dict[str, Any]:
    """The posted form as the model's input (what a JSON client would have sent)."""
    data: dict[str, Any] = {}
    for control in controls(model, t):
        if control.widget == "rows" and control.item is not None:
            key = prefix + control.name
            rows = [read(control.item, form, t, f"{key}-{i}-") for i in range(row_count(form, key))]
            data[control.name] = [r for r in rows if any(v not in ("", None) for v in r.values())]
            continue
        present, value = _value(control, form, prefix + control.name)
        if present:
            data[control.name] = value
    return data


def row_count(form: FormData, name: str) -> int:
    """How many rows of `name` (`name-0-field`, `name-1-field`, …) the form holds."""
    indices = {
        int(k.split("-")[-2])
        for k in form
        if k.startswith(f"{name}-") and k.split("-")[-2].isdigit()
    }
    return max(indices) + 1 if indices else 0


def blank_parties() -> list[dict[str, Any]]:
    return [{"role": PartyRole.applicant.value}, {"role": PartyRole.respondent.value}]


def errors(exc: ValidationError, t: Translator, prefix: str = "") -> dict[str, str]:
    """Field name (as the form names it) → what is wrong, in words."""
    out: dict[str, str] = {}
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = prefix + "-".join(loc) if loc else "parties"
        out.setdefault(key, _words(error, t))
    return out


def _words(error: Any, t: Translator) -> str:
    kind: str = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return t("error.missing")
    if kind == "string_too_short":
        return (
            t("error.missing")
            if ctx.get("min_length") == 1
            else t("error.too_short", min=ctx.get("min_length"))
        )
    if kind == "string_too_long":
        return t("error.too_long", max=ctx.get("max_length"))
    if kind == "too_short":
        return t("error.too_few", min=ctx.get("min_length"))
    if kind == "too_long":
        return t("error.too_many", max=ctx.get("max_length"))
    if kind in ("enum", "literal_error"):
        return t("error.choice")
    if kind.startswith(("int_", "decimal_parsing", "decimal_type", "float_")):
        return t("error.number")
    if kind.startswith(("greater_than", "less_than", "decimal_")):
        return t("error.range")
    if kind.startswith("datetime"):
        return t("error.datetime")
    if kind.startswith("date"):
        return t("error.date")
    message = str(error.get("msg", ""))
    if "applicant and one respondent" in message:
        return t("error.both_sides")
    if "control characters" in message:
        return t("error.text")
    return t("error.invalid")
