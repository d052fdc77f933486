"""The words of each notification (DESIGN §6): one Chinese template per kind, rendered by
the outbox at delivery time from what the store holds then.

What goes to the parties fits one SMS (`PARTY_SMS_LIMIT` characters, UCS-2 counts every
character alike); the full notices are documents of their own. No text carries a party's
name, phone or ID number: the case number, the dispute's type and town, the mediation
body's and mediator's names, dates and the outcome in words are all it may use.

Pure functions of a `NoticeContext`: no store, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from core.i18n import ZONE, Translator
from models.enums import DisputeType, NotificationKind, Outcome

K = NotificationKind
PARTY_SMS_LIMIT = 70
PARTY_KINDS = frozenset({K.arbitration_rights, K.termination_routes, K.performance_urge, K.closure})
# The words of codes (dispute types, outcomes, kinds, audiences) and of the arbitration body
# come from the one catalogue (core/messages.toml), as the console and the documents say them.
ZH = Translator("zh")
ARBITRATION_BODY = ZH("org.arbitration_body")
AUDIENCE_KEYS = {
    "parties": "audience.parties",
    "supervisors": "audience.supervisors",
    "police_liaison": "audience.police_liaison",
    "duty_supervisor": "audience.duty_supervisor",
    "mediator": "field.mediator_id",
    "org": "field.org_id",
}

TEMPLATES: dict[NotificationKind, str] = {
    K.assignment: "新案件{case_no}（{dispute}，{town}）已分派{handler}，"
    "请于{acceptance_due}前受理或退回。",
    K.acceptance_reminder: "提醒：案件{case_no}（{handler}）尚未受理，"
    "请于{acceptance_due}前受理或退回，逾期将另行分派。",
    K.risk_alert: "【红色风险】案件{case_no}（{dispute}，{town}）有民转刑风险，"
    "请立即介入并在系统中确认。承办：{handler}。",
    K.supervisor_alert: "【待处理】案件{case_no}（{dispute}，{town}，承办：{handler}）"
    "需领导处理，请登录系统查看。",
    K.deadline_reminder: "提醒：案件{case_no}调解期限将于{mediation_due}届满，"
    "请抓紧调解；延期须经双方当事人同意。",
    K.arbitration_rights: "案件{case_no}调解期满未达成协议，您可在{limitation_until}前"
    f"向{ARBITRATION_BODY}申请劳动仲裁。",
    K.termination_routes: "案件{case_no}调解不成（{outcome}）。"
    "您可向有关行政部门申请处理，或向人民法院提起诉讼。",
    K.follow_up_due: "提醒：案件{case_no}应于{next_follow_up_due}前回访，"
    "了解调解协议履行情况并登记结果。",
    K.follow_up_overdue: "案件{case_no}回访已逾期（应于{next_follow_up_due}前完成），"
    "请尽快回访并登记结果。",
    # R9: the first visit that finds the agreement not performed urges the parties.
    K.performance_urge: "案件{case_no}的调解协议尚未履行，请按约定的方式和期限履行；"
    "经督促仍不履行的，可依法申请仲裁或起诉。",
    K.closure: "案件{case_no}已办结，结果：{outcome}。承办：{org_name}。",
}
# Where the words depend on the case or on why the notice was written.
VARIANTS: dict[tuple[NotificationKind, str], str] = {
    # Labor disputes go to arbitration before any court (LDMAL art. 5).
    (K.termination_routes, "labor"): "案件{case_no}调解不成（{outcome}）。"
    f"您可向{ARBITRATION_BODY}申请劳动仲裁，不服裁决可向法院起诉。",
    # The outbox's own alerts (notify/outbox.py, store/steps.py).
    (K.supervisor_alert, "undelivered"): "【送达失败】案件{case_no}的{undelivered}"
    "（发往{undelivered_to}）未能送达，请人工联系。",
    (K.supervisor_alert, "step_not_recorded"): "【系统异常】案件{case_no}有办理步骤"
    "未能写入案件库，请联系运维人员处理。",
    # R9: the visits ran out without confirming performance (workflows/case_commands.py).
    (K.supervisor_alert, "unsettled_visits"): "【回访未果】案件{case_no}（{dispute}，{town}）"
    "多次回访未能确认协议履行，已引导当事人诉讼或仲裁，请关注。",
    # A public report's emergency (store/reports.py): `case_no` is then the report's number.
    (K.risk_alert, "report"): "【突发事件】群众报告{case_no}（{town}）反映突发事件，"
    "请值班督导立即处置并在系统中确认。",
    (K.supervisor_alert, "report"): "【突发事件未确认】群众报告{case_no}（{town}）"
    "反映的突发事件尚未确认处置，请督导立即过问。",
}


@dataclass(frozen=True)
class NoticeContext:
    """What a text may say, gathered from the store by the outbox."""

    case_no: str
    dispute_type: str
    town: str
    org_name: str | None = None
    mediator_name: str | None = None
    acceptance_due: datetime | None = None
    mediation_due: datetime | None = None
    next_follow_up_due: datetime | None = None
    outcome: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def day(value: date | datetime | None) -> str:
    if value is None:
        return "（未定）"
    if isinstance(value, datetime):
        value = value.astimezone(ZONE).date()
    return f"{value.year}年{value.month}月{value.day}日"


def moment(value: datetime | None) -> str:
    if value is None:
        return "（未定）"
    local = value.astimezone(ZONE)
    return f"{day(local)}{local:%H:%M}"


def _known(enum: type[StrEnum], value: str | None, default: str | None = None) -> str | None:
    """`value` if it is one of the enum's, else `default`."""
    return value if value in {e.value for e in enum} else default


def handler(ctx: NoticeContext) -> str:
    if ctx.org_name is None:
        return "尚未分派"
    return ctx.org_name + (f"{ctx.mediator_name}调解员" if ctx.mediator_name else "")


def template_for(kind: NotificationKind, ctx: NoticeContext) -> str:
    if "report_no" in ctx.detail and (kind, "report") in VARIANTS:
        return VARIANTS[(kind, "report")]
    if kind is K.termination_routes:
        return VARIANTS.get((kind, ctx.dispute_type), TEMPLATES[kind])
    if kind is K.supervisor_alert:
        for why in ("undelivered", "step_not_recorded", "unsettled_visits"):
            if why in ctx.detail:
                return VARIANTS[(kind, why)]
    return TEMPLATES[kind]


def render(kind: str, ctx: NoticeContext) -> str:
    """The text of one notification; ValueError for an unknown kind or an arbitration-rights
    notice without its limitation date (the outbox dead-letters either, visibly)."""
    k = NotificationKind(kind)
    outcome = ctx.detail.get("outcome") or ctx.outcome  # as the notice was written
    limitation = ctx.detail.get("arbitration_limitation_until")
    if k is K.arbitration_rights and not limitation:
        raise ValueError("an arbitration-rights notice needs its limitation date")
    undelivered = str(ctx.detail.get("undelivered", ""))
    undelivered_to = str(ctx.detail.get("audience", "")).partition(":")[0]
    words = {
        "case_no": ctx.case_no,
        "dispute": ZH.enum("dispute_type", _known(DisputeType, ctx.dispute_type, "other")),
        "town": ctx.town,
        "org_name": ctx.org_name or "区矛盾纠纷调解中心",
        "handler": handler(ctx),
        "acceptance_due": moment(ctx.acceptance_due),
        "mediation_due": day(ctx.mediation_due),
        "next_follow_up_due": day(ctx.next_follow_up_due),
        "limitation_until": day(date.fromisoformat(limitation)) if limitation else "",
        "outcome": ZH.enum("outcome", outcome) if _known(Outcome, outcome) else "已结束",
        "undelivered": ZH.enum("notification", undelivered)
        if _known(NotificationKind, undelivered)
        else "通知",
        "undelivered_to": ZH(AUDIENCE_KEYS[undelivered_to])
        if undelivered_to in AUDIENCE_KEYS
        else "相关人员",
    }
    return template_for(k, ctx).format_map(words)
