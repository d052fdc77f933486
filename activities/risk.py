"""Risk screening (R3, R4, R11): flags and words in the summary → green / yellow / red.

Reasons are category codes, never the matched words, so they can be shown and logged.
"""

from __future__ import annotations

from temporalio import activity

from models.case import RiskAssessment, RiskScreeningInput
from models.enums import RiskFlag, RiskLevel

# Words that point to a dispute turning into a public-order or criminal case (防民转刑).
RED_WORDS: dict[str, tuple[str, ...]] = {
    "self_harm_language": (
        "跳楼",
        "自杀",
        "轻生",
        "寻死",
        "喝农药",
        "割腕",
        "不想活",
        "suicide",
        "kill myself",
        "end my life",
    ),
    "die_together_language": ("同归于尽", "一起死", "die together"),
    "violence_language": ("杀", "打人", "殴打", "砍", "报复", "beat", "attack", "kill", "assault"),
    "weapon_language": ("刀", "枪", "汽油", "炸药", "knife", "gun", "weapon", "petrol"),
    "domestic_violence_language": ("家暴", "家庭暴力", "domestic violence"),
}
YELLOW_WORDS: dict[str, tuple[str, ...]] = {
    "threat_language": ("威胁", "扬言", "threat"),
    "petition_language": ("上访", "信访", "堵路", "petition"),
    "collective_language": ("集体", "群体", "联名", "collective"),
}
RED_FLAGS = {RiskFlag.self_harm, RiskFlag.violence, RiskFlag.weapon, RiskFlag.domestic_violence}
YELLOW_FLAGS = {RiskFlag.minor_involved, RiskFlag.elderly, RiskFlag.collective}


def _matches(text: str, words: dict[str, tuple[str, ...]]) -> list[str]:
    lowered = text.lower()
    return [code for code, ws in words.items() if any(w in lowered for w in ws)]


def assess_risk(data: RiskScreeningInput) -> RiskAssessment:
    flags = set(data.risk_flags)
    red = sorted(f"flag:{f.value}" for f in flags & RED_FLAGS) + _matches(data.summary, RED_WORDS)
    yellow = sorted(f"flag:{f.value}" for f in flags & YELLOW_FLAGS)
    yellow += _matches(data.summary, YELLOW_WORDS)
    if data.headcount is not None and data.headcount >= data.collective_headcount:
        yellow.append("collective_headcount")
    if red:
        return RiskAssessment(level=RiskLevel.red, reasons=red + yellow)
    if yellow:
        return RiskAssessment(level=RiskLevel.yellow, reasons=yellow)
    return RiskAssessment(level=RiskLevel.green, reasons=[])


@activity.defn
def screen_risk(data: RiskScreeningInput) -> RiskAssessment:
    return assess_risk(data)
