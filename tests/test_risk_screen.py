"""The risk screen reads words (issue 16): the committed evaluation set meets its red targets,
negators cancel only what they stand before, flags always win, English matches whole words,
and every hit is named by the lexicon's own phrase."""

from __future__ import annotations

import json

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import ActivityEnvironment

from activities.risk import PATTERNS, assess_risk, normalise, screen_risk, segmenter, words
from models.case import RiskAssessment, RiskScreeningInput
from models.enums import RiskFlag, RiskLevel
from ops.risk_eval import (
    EVAL_SET,
    RED_PRECISION_TARGET,
    RED_RECALL_TARGET,
    evaluate,
    load,
    report,
)


def screen(summary: str, flags: list[RiskFlag] | None = None) -> RiskAssessment:
    return assess_risk(
        RiskScreeningInput(
            summary=summary, risk_flags=flags or [], headcount=None, collective_headcount=10
        )
    )


LEXICON_PHRASES = {
    (p.category, alt) for p in PATTERNS for part in p.parts for alt in part.alternatives
}


def phrases_of(result: RiskAssessment) -> set[str]:
    return {m.phrase for m in result.matches}


# --- the committed evaluation set -------------------------------------------------------


def test_the_committed_set_meets_the_red_targets() -> None:
    ev = evaluate(load())
    assert ev.total >= 200
    assert ev.recall(RiskLevel.red) >= RED_RECALL_TARGET, report(ev)
    assert ev.precision(RiskLevel.red) >= RED_PRECISION_TARGET, report(ev)
    assert ev.meets_targets()


def test_the_committed_set_holds_every_named_pattern_and_look_alike() -> None:
    rows = [json.loads(line) for line in EVAL_SET.read_text("utf-8").splitlines() if line]
    assert len({r["id"] for r in rows}) == len(rows)
    by_level = {
        level: " ".join(r["summary"] for r in rows if r["level"] == level)
        for level in ("red", "yellow", "green")
    }
    red = "上吊 跳河 跳楼 服毒 喝农药 割腕 拿刀 砍 扬言报复 不想活了 同归于尽 家暴 汽油"
    for pattern in red.split():
        assert pattern in by_level["red"], pattern
    green = "杀猪 杀价 刀具店 菜刀 打工 没有打人 跳槽 农药店 skill"
    for look_alike in green.split():
        assert look_alike in by_level["green"], look_alike
    assert sum(r["summary"].isascii() for r in rows) >= 5  # a few English ones


# --- word boundaries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "summary",
    [
        "柏某在镇上经营杀猪场，与邻居因污水排放发生纠纷。",
        "水某春节前请人上门杀猪，事后因工钱多少发生争执。",
        "窦某购买二手房时被中介杀价。",
        "苏某在外打工多年，回乡后与兄弟因房屋分配发生争议。",
        "潘某跳槽到竞争对手公司，原公司要求其支付违约金。",
        "凤某在跳楼价促销时购买的冰箱存在质量问题。",
    ],
)
def test_look_alikes_are_green(summary: str) -> None:
    result = screen(summary)
    assert result.level is RiskLevel.green, result
    assert result.matches == []


def test_the_qijian_example_is_red() -> None:
    result = screen("妻子与丈夫争吵后扬言要跳楼")
    assert result.level is RiskLevel.red
    assert result.reasons == ["self_harm_language", "threat_language"]
    assert {"跳楼", "扬言"} <= phrases_of(result)


def test_english_matches_whole_words_only() -> None:
    assert screen("He has the skill to finish the job.").level is RiskLevel.green
    assert screen("A skilled carpenter was not paid.").level is RiskLevel.green
    killed = screen("Tenant says the landlord threatened to kill him.")
    assert killed.level is RiskLevel.red
    assert "kill" in phrases_of(killed)
    assert screen("Ｋｉｌｌ him, he said.").level is RiskLevel.red  # full-width letters


def test_phrases_the_substring_screen_missed() -> None:
    for summary in ("说要去上吊", "扬言要跳河", "回家服毒", "拿刀在楼下等他", "他已经不想活了"):
        assert screen(summary).level is RiskLevel.red, summary
    assert "喝了+农药" in phrases_of(screen("在业主家楼下喝了半瓶农药"))
    assert "拿着+菜刀" in phrases_of(screen("拿着一把菜刀站在门口"))


def test_the_lexicon_phrases_are_words_of_the_segmenter() -> None:
    assert segmenter() is segmenter()  # loaded once per process
    assert "不想活了" in [w.text for w in words(normalise("他说他不想活了"))]
    assert "杀猪场" in [w.text for w in words(normalise("他在杀猪场打工"))]


# --- negation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("summary", "phrase"),
    [
        ("鲁某称对方没有打人，只是争吵了几句。", "打人"),
        ("经了解双方没动手。", "动手"),
        ("丈夫脾气暴躁但并未家暴。", "家暴"),
        ("家属表示其不会自杀。", "自杀"),
        ("并未对其实施家暴。", "家暴"),
        ("He did not hit her; they argued about money.", "hit her"),
    ],
)
def test_a_negator_before_a_phrase_cancels_it(summary: str, phrase: str) -> None:
    result = screen(summary)
    assert result.level is RiskLevel.green, result
    assert phrase in {m.phrase for m in result.negated}


@pytest.mark.parametrize(
    "summary",
    [
        "他说不想活了。",  # a red phrase, not a negation of 想活
        "没有工作，不想活了。",  # the negator belongs to another clause
        "没有工作不想活了",  # and to another verb
        "对方没有动手，但扬言要杀了他全家。",  # one hit negated, another not
        "这已经不是第一次打人了。",
        "没钱就去跳楼。",
    ],
)
def test_negators_of_something_else_cancel_nothing(summary: str) -> None:
    assert screen(summary).level is RiskLevel.red


def test_flags_always_win() -> None:
    result = screen("李某称对方没有家暴，也不会自杀。", [RiskFlag.domestic_violence])
    assert result.level is RiskLevel.red
    assert result.reasons == ["flag:domestic_violence"]
    assert {m.phrase for m in result.negated} == {"家暴", "自杀"}
    assert screen("邻里噪音纠纷", [RiskFlag.weapon]).level is RiskLevel.red


# --- what the step record says --------------------------------------------------------


def test_hits_name_the_lexicon_not_the_summary() -> None:
    summary = "张三丰（电话13800000000）在王家坝扬言要跳楼，拿着菜刀"
    result = screen(summary)
    assert result.reasons == ["self_harm_language", "weapon_language", "threat_language"]
    for match in [*result.matches, *result.negated]:
        parts = match.phrase.split("+")
        assert all((match.category, part) in LEXICON_PHRASES for part in parts), match
        assert match.phrase not in summary or match.phrase in {"跳楼", "扬言"}
    assert "张三丰" not in result.model_dump_json()


def test_the_activity_result_round_trips_and_old_results_still_decode() -> None:
    data = RiskScreeningInput(
        summary="扬言要跳楼", risk_flags=[], headcount=None, collective_headcount=10
    )
    result = ActivityEnvironment().run(screen_risk, data)  # a sync activity, as the worker runs it
    converter = pydantic_data_converter.payload_converter
    payloads = converter.to_payloads([result])
    assert converter.from_payloads(payloads, [RiskAssessment]) == [result]
    # A result recorded before `matches` existed (the committed histories) decodes as before.
    old = converter.to_payloads([{"level": "red", "reasons": ["self_harm_language"]}])
    (decoded,) = converter.from_payloads(old, [RiskAssessment])
    assert decoded == RiskAssessment(level=RiskLevel.red, reasons=["self_harm_language"])
    assert decoded.matches == [] and decoded.negated == []
