"""The monthly report (DESIGN §6 `/reports/monthly`): `Stats` as tables a district office
reads, in Chinese, written as XLSX (one sheet per table) or CSV (the tables one after
another, each under its title line).

Every breakdown lists each value of its column (zeros included) and a row for the cases
without one (unassigned, no outcome yet), so its totals row is the month's case count; the
follow-up table's total is the number of visits. Values are named as the console names
them (core/messages.toml).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from api.schemas import Stats, TimeSummary
from core.i18n import Translator
from models.enums import CaseStatus, Channel, DisputeType, FollowUpResult, Outcome, RiskLevel

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"  # Starlette adds "; charset=utf-8"
TOTAL = "合计"

ZH = Translator("zh")


def labels(section: str, values: type[StrEnum]) -> dict[str, str]:
    """Each value of an enum with its Chinese name from the catalogue, in the enum's order."""
    return {v.value: ZH.enum(section, v) for v in values}


@dataclass(frozen=True)
class Ratio:
    """A share: a percentage in the spreadsheet and in the CSV."""

    value: float | None


Cell = str | int | float | Ratio | None


@dataclass(frozen=True)
class Table:
    title: str  # the sheet's name, the CSV section's title line
    header: tuple[str, ...]
    rows: list[list[Cell]]
    total: list[Cell] | None  # the totals row, last


def _ratio(part: int, whole: int) -> Ratio:
    return Ratio(part / whole if whole else None)


def breakdown(
    title: str,
    labels: Mapping[str, str],
    counts: Mapping[str, int],
    whole: int,
    missing: str,
    count_header: str = "数量",
) -> Table:
    """Each labelled value (zeros too), any other value the data holds, and the rest of
    `whole` under `missing`."""
    rows: list[list[Cell]] = [
        [label, code, counts.get(code, 0), _ratio(counts.get(code, 0), whole)]
        for code, label in labels.items()
    ]
    rows += [[code, code, n, _ratio(n, whole)] for code, n in counts.items() if code not in labels]
    rest = whole - sum(counts.values())
    if rest:
        rows.append([missing, "", rest, _ratio(rest, whole)])
    return Table(
        title, (title, "代码", count_header, "占比"), rows, [TOTAL, "", whole, _ratio(whole, whole)]
    )


def towns(s: Stats) -> Table:
    rows: list[list[Cell]] = [[t, n, _ratio(n, s.total)] for t, n in s.by_town.items()]
    return Table("镇街", ("镇街", "数量", "占比"), rows, [TOTAL, s.total, _ratio(s.total, s.total)])


def organisations(s: Stats) -> Table:
    rows: list[list[Cell]] = [
        [o.name or o.id, o.id, o.count, _ratio(o.count, s.total)] for o in s.organizations
    ]
    rest = s.total - sum(o.count for o in s.organizations)
    if rest:
        rows.append(["未分派", "", rest, _ratio(rest, s.total)])
    header = ("承办组织", "机构编号", "数量", "占比")
    return Table("承办组织", header, rows, [TOTAL, "", s.total, _ratio(s.total, s.total)])


def _times(what: str, t: TimeSummary, unit: str) -> list[list[Cell]]:
    return [[f"{what}中位数", t.median, unit], [f"{what}P90", t.p90, unit]]


def summary(s: Stats, month: str) -> Table:
    r, f, d = s.red_risk, s.follow_ups, s.within_deadline
    rows: list[list[Cell]] = [
        ["统计月份", month, ""],
        ["统计口径", "当月登记的案件（按北京时间登记日期）", ""],
        ["案件总数", s.total, "件"],
        ["已结案", s.closed, "件"],
        ["调解成功", s.resolved, "件"],
        ["调解成功率（调解成功/已结案）", Ratio(s.resolution_rate), ""],
        ["已受理案件", s.hours_to_accept.count, "件"],
        *_times("受理用时（登记至受理）", s.hours_to_accept, "小时"),
        *_times("结案用时（登记至结案）", s.days_to_close, "天"),
        ["调解已办结", d.concluded, "件"],
        ["其中在法定期限内", d.within, "件"],
        ["法定期限内办结率", Ratio(d.share), ""],
        ["红色风险预警案件", r.cases, "件"],
        ["红色风险预警", r.alerts, "次"],
        ["已签收", r.acknowledged, "次"],
        ["未签收", r.unacknowledged, "次"],
        ["超时未签收再次预警", r.escalations, "次"],
        *_times("预警签收用时", r.minutes_to_acknowledge, "分钟"),
        ["回访", f.visits, "次"],
        ["按期回访", f.on_time, "次"],
        ["按期回访率", Ratio(f.on_time_share), ""],
        ["逾期案件", s.overdue, "件"],
    ]
    return Table("汇总", ("指标", "数值", "单位"), rows, None)


def tables(s: Stats, month: str) -> list[Table]:
    f = s.follow_ups
    return [
        summary(s, month),
        breakdown(
            "纠纷类型", labels("dispute_type", DisputeType), s.by_dispute_type, s.total, "未知"
        ),
        breakdown("来源渠道", labels("channel", Channel), s.by_channel, s.total, "未知"),
        breakdown(
            "办理结果", labels("outcome", Outcome), s.by_outcome, s.total, "尚无结果（办理中）"
        ),
        towns(s),
        organisations(s),
        breakdown("风险等级", labels("risk_level", RiskLevel), s.by_risk_level, s.total, "未知"),
        breakdown("案件状态", labels("status", CaseStatus), s.by_status, s.total, "未知"),
        breakdown(
            "回访结果",
            labels("follow_up_result", FollowUpResult),
            f.by_result,
            f.visits,
            "未知",
            "次数",
        ),
    ]


# --- writing ---------------------------------------------------------------------------------

BOLD = Font(bold=True)


def to_xlsx(s: Stats, month: str) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for table in tables(s, month):
        sheet = book.create_sheet(table.title)
        sheet.append(list(table.header))
        for row in [*table.rows, *([table.total] if table.total else [])]:
            sheet.append([c.value if isinstance(c, Ratio) else c for c in row])
            for cell, value in zip(sheet[sheet.max_row], row, strict=True):
                if isinstance(value, Ratio):
                    cell.number_format = "0.0%"
        for cell in [*sheet[1], *(sheet[sheet.max_row] if table.total else ())]:
            cell.font = BOLD
        sheet.freeze_panes = "A2"
        for column in sheet.columns:  # a Chinese character is two columns wide
            width = max(len(str(c.value if c.value is not None else "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(10, 2 * width + 2), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _text(cell: Cell) -> str | int | float:
    if isinstance(cell, Ratio):
        return "" if cell.value is None else f"{cell.value * 100:.1f}%"
    return "" if cell is None else cell


def to_csv(s: Stats, month: str) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads the Chinese right."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow([f"人民调解统计月报 {month}"])
    for table in tables(s, month):
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.header)
        for row in [*table.rows, *([table.total] if table.total else [])]:
            writer.writerow([_text(c) for c in row])
    return text.getvalue().encode("utf-8-sig")


def wants_csv(headers: Mapping[str, Any]) -> bool:
    """Whether `Accept` prefers text/csv to XLSX (neither named: XLSX)."""
    quality: dict[str, float] = {}
    for part in str(headers.get("accept", "")).split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[kind.lower()] = max(q, quality.get(kind.lower(), 0.0))
    csv_q = quality.get("text/csv", 0.0)
    return csv_q > 0 and csv_q > quality.get(XLSX, 0.0)
