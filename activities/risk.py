"""Risk screening (R3, R4, R11): flags and the words of the summary → green / yellow / red.

The summary is read as Chinese words, not characters: jieba segments it, and a lexicon phrase
(activities/risk_lexicon.py) counts only where it begins and ends on word boundaries, so 杀猪
is no 杀 and "skill" no "kill". A negator shortly before a phrase (没有打人, 并未家暴) cancels
that hit; an explicit flag is never cancelled. Reasons are category codes and matches name
the lexicon's phrases, never the summary's words, so both can be shown, recorded and logged.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio import activity

from activities import risk_lexicon as lexicon
from models.case import RiskAssessment, RiskMatch, RiskScreeningInput
from models.enums import RiskFlag, RiskLevel

RED_FLAGS = {RiskFlag.self_harm, RiskFlag.violence, RiskFlag.weapon, RiskFlag.domestic_violence}
YELLOW_FLAGS = {RiskFlag.minor_involved, RiskFlag.elderly, RiskFlag.collective}

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PARTS = re.compile(r"\s\+(\d*)\s")
# Word runs, and the punctuation that ends a clause (the reach of a pattern or a negator).
# Anything else (spaces, quotes, brackets) is neither a word nor a boundary of a clause.
_RUNS = re.compile(
    r"(?P<han>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|(?P<latin>[a-z]+(?:'[a-z]+)*|\d+)"
    r"|(?P<stop>[,.;:!?、，。；：！？…\n\r])"
)


# --- the lexicon, parsed once ----------------------------------------------------------


@dataclass(frozen=True)
class _Part:
    alternatives: tuple[str, ...]
    gap: int  # at most this many words between this part and the one before


@dataclass(frozen=True)
class _Pattern:
    category: str
    parts: tuple[_Part, ...]
    not_next: frozenset[str]  # the word right after the match must not be one of these


def _alternatives(text: str) -> tuple[str, ...]:
    return tuple(a.strip().lower() for a in text.split("|") if a.strip())


def _parse(category: str, entry: str) -> _Pattern:
    pieces = _PARTS.split(entry)
    texts, gaps = pieces[0::2], [lexicon.WINDOW, *(int(g or lexicon.WINDOW) for g in pieces[1::2])]
    not_next: frozenset[str] = frozenset()
    if texts[-1].strip().startswith("!"):
        not_next = frozenset(_alternatives(texts.pop().strip()[1:]))
    parts = tuple(_Part(_alternatives(t), g) for t, g in zip(texts, gaps, strict=False))
    return _Pattern(category, parts, not_next)


RED_CATEGORIES = tuple(lexicon.RED)
YELLOW_CATEGORIES = tuple(lexicon.YELLOW)
PATTERNS: tuple[_Pattern, ...] = tuple(
    _parse(category, entry)
    for table in (lexicon.RED, lexicon.YELLOW)
    for category, entries in table.items()
    for entry in entries
)
NEGATORS = frozenset(a for e in lexicon.NEGATORS for a in _alternatives(e))
FILLERS = frozenset(a for e in lexicon.NEGATION_FILLERS for a in _alternatives(e))
DECOYS = tuple(a for e in lexicon.DECOYS for a in _alternatives(e))
PHRASES = tuple(dict.fromkeys(a for p in PATTERNS for part in p.parts for a in part.alternatives))


# --- the segmenter, loaded once per process on first use -------------------------------

# Lexicon phrases and decoys enter the dictionary at least this frequent (jieba's own 自杀 is
# 1183, 跳楼 68): a phrase should not lose to a word that straddles its edge, and a decoy
# (杀猪场) should win over the phrase inside it.
PHRASE_FREQ = 20_000
DECOY_FREQ = 50_000
# Words at least this frequent in jieba's dictionary are kept whatever they hold: they are
# the words a summary is mostly made of (他家, 项目, 领班), and they place the phrases'
# neighbours. Measured in a worker process (issue 11 keeps its RSS ≤ 250 MB): the full
# dictionary adds 73 MB and loads in 0.9-1.7 s; this part adds 19.5 MB and loads in
# 0.4-0.6 s, with the same results on tests/data/risk_eval.jsonl (at 200 one red is lost).
COMMON_WORD_FREQ = 100

_lock = threading.Lock()
_segmenter: Any = None


def _import_jieba() -> Any:
    """jieba imports pkg_resources, if it can, only to open its own files, which it can
    also find next to its module. pkg_resources would cost the worker 7.8 MB and 90 ms
    here (and newer setuptools warn on its import), so the import is made to fail."""
    absent = "pkg_resources" not in sys.modules
    if absent:
        sys.modules["pkg_resources"] = None  # type: ignore[assignment]
    try:
        import jieba
    finally:
        if absent and sys.modules.get("pkg_resources", 0) is None:
            del sys.modules["pkg_resources"]
    jieba.setLogLevel(logging.WARNING)
    return jieba


def _any_of(texts: set[str]) -> str:
    """A regular expression that finds any of the texts, as a trie: one alternation of ~900
    phrases tried at every position took 1.2 s over jieba's dictionary, this 0.14 s. A text
    that another one starts with is enough to be found, so the trie stops there."""
    trie: dict[str, Any] = {}
    for text in texts:
        node = trie
        for ch in text:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict[str, Any]) -> str:
        if "" in node:
            return ""
        alts = [re.escape(ch) + pattern(sub) for ch, sub in sorted(node.items())]
        return alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"

    return pattern(trie)


def _relevant_words(path: Path) -> tuple[bytes, int]:
    """The part of jieba's dictionary the screen needs: the common words (frequency ≥
    COMMON_WORD_FREQ), single characters, and the words that hold a lexicon alternative,
    a negator or a filler (打扫 holds 打, 跳楼机 holds 跳楼): without them 打 or 跳楼 would
    stand alone as a word. Returns those lines and the full dictionary's total, so that
    word probabilities stay those of the full dictionary."""
    # One-character fillers (他, 人…) left out: the words holding them are many, and a filler
    # split out of a rare word only ever meets the characters it was split from.
    whole = (*PHRASES, *NEGATORS, *FILLERS, *(w for p in PATTERNS for w in p.not_next))
    held = {a for a in whole if _HAN.search(a) and (len(a) > 1 or a not in FILLERS)}
    holds = re.compile(_any_of(held))
    kept: list[bytes] = []
    total = 0
    with path.open("rb") as f:
        for line in f:
            word, freq, _ = line.split(b" ", 2)
            count = int(freq)
            total += count
            text = word.decode()
            if count >= COMMON_WORD_FREQ or len(text) == 1 or holds.search(text):
                kept.append(line)
    return b"".join(kept), total


def _load() -> Any:
    jieba = _import_jieba()
    lines, total = _relevant_words(Path(jieba.__file__).with_name("dict.txt"))

    # jieba's tokenizer on our part of its dictionary, built in memory, set up as its own
    # initialize() would set it up: no cache file (the worker's root file system is
    # read-only) and no log lines.
    segmenter = jieba.Tokenizer()
    segmenter.FREQ, _ = segmenter.gen_pfdict(io.BytesIO(lines))
    segmenter.total = total
    segmenter.initialized = True
    for word in PHRASES:
        if _HAN.search(word):
            segmenter.add_word(word, max(segmenter.suggest_freq(word), PHRASE_FREQ))
    for word in DECOYS:
        segmenter.add_word(word, max(segmenter.suggest_freq(word), DECOY_FREQ))
    return segmenter


def segmenter() -> Any:
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                _segmenter = _load()
    return _segmenter


# --- reading a summary ------------------------------------------------------------------


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    text: str
    stop: bool  # punctuation that ends a clause


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower()


def words(text: str) -> list[_Word]:
    """The summary (normalised) as words: Chinese runs segmented by jieba (without its HMM,
    which would glue unknown characters into new words around a phrase), Latin words and
    numbers whole, clause-ending punctuation as stops."""
    out: list[_Word] = []
    for run in _RUNS.finditer(text):
        if run.lastgroup == "han":
            pos = run.start()
            for w in segmenter().cut(run.group(), HMM=False):
                out.append(_Word(pos, pos + len(w), w, False))
                pos += len(w)
        else:
            out.append(_Word(run.start(), run.end(), run.group(), run.lastgroup == "stop"))
    return out


class _Reading:
    """Where each lexicon alternative stands in one summary, as (first, last) word indices."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = words(text)
        self.first = {w.start: i for i, w in enumerate(self.words)}
        self.last = {w.end: i for i, w in enumerate(self.words)}
        self._found: dict[str, list[tuple[int, int]]] = {}

    def spans(self, alternative: str) -> list[tuple[int, int]]:
        if alternative not in self._found:
            spans, at = [], self.text.find(alternative)
            while at >= 0:
                first, last = self.first.get(at), self.last.get(at + len(alternative))
                if first is not None and last is not None:
                    spans.append((first, last))
                at = self.text.find(alternative, at + 1)
            self._found[alternative] = spans
        return self._found[alternative]

    def clause_between(self, after: int, before: int) -> bool:
        return not any(w.stop for w in self.words[after + 1 : before])

    def hits(self, pattern: _Pattern) -> Iterator[tuple[int, str]]:
        """(first word, the lexicon's phrase) for every match of the pattern."""
        for alt in pattern.parts[0].alternatives:
            for first, last in self.spans(alt):
                for phrase in self._rest(pattern, 1, last, (alt,)):
                    yield first, phrase

    def _rest(self, pattern: _Pattern, k: int, last: int, said: tuple[str, ...]) -> Iterator[str]:
        if k == len(pattern.parts):
            following = self.words[last + 1] if last + 1 < len(self.words) else None
            if following is None or following.text not in pattern.not_next:
                yield "+".join(said)
            return
        part = pattern.parts[k]
        for alt in part.alternatives:
            for first, end in self.spans(alt):
                if last < first <= last + 1 + part.gap and self.clause_between(last, first):
                    yield from self._rest(pattern, k + 1, end, (*said, alt))

    def negated(self, first: int) -> bool:
        """A negator before the word, with only filler words between (没有对其实施家暴)."""
        for k in range(first - 1, max(first - 2 - lexicon.NEGATION_GAP, -1), -1):
            text = self.words[k].text
            if text in NEGATORS:
                return True
            if text not in FILLERS:
                return False
        return False


def read_summary(summary: str) -> tuple[list[RiskMatch], list[RiskMatch]]:
    """The lexicon's matches in a summary, and the matches a negator cancelled."""
    reading = _Reading(normalise(summary))
    matched: dict[tuple[str, str], None] = {}
    negated: dict[tuple[str, str], None] = {}
    for pattern in PATTERNS:
        for first, phrase in reading.hits(pattern):
            into = negated if reading.negated(first) else matched
            into[(pattern.category, phrase)] = None
    return (
        [RiskMatch(category=c, phrase=p) for c, p in matched],
        [RiskMatch(category=c, phrase=p) for c, p in negated],
    )


def assess_risk(data: RiskScreeningInput) -> RiskAssessment:
    flags = set(data.risk_flags)
    matches, negated = read_summary(data.summary)
    hit = {m.category for m in matches}
    # Flags come from the officer and are never cancelled by anything in the text.
    red = sorted(f"flag:{f.value}" for f in flags & RED_FLAGS)
    red += [c for c in RED_CATEGORIES if c in hit]
    yellow = sorted(f"flag:{f.value}" for f in flags & YELLOW_FLAGS)
    yellow += [c for c in YELLOW_CATEGORIES if c in hit]
    if data.headcount is not None and data.headcount >= data.collective_headcount:
        yellow.append("collective_headcount")
    level = RiskLevel.red if red else RiskLevel.yellow if yellow else RiskLevel.green
    return RiskAssessment(level=level, reasons=red + yellow, matches=matches, negated=negated)


@activity.defn
def screen_risk(data: RiskScreeningInput) -> RiskAssessment:
    return assess_risk(data)
