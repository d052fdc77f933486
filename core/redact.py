"""Personal data out of log lines: mainland mobile and landline numbers, 18-digit resident ID
numbers, the names of the parties this process has seen, and report lookup codes in URLs.

Names have no shape a pattern can find, so the code that receives parties (the API's intake,
the intake step's activity) registers them here; the filter then masks them wherever they
turn up — in a message, its arguments, an exception or a field. The registry is bounded and
lives in memory only.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, MutableMapping
from typing import Any, TypeVar

PHONE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
# A public report's lookup code in a URL's query (GET /reports/{no}?code=…): a secret the
# access log would otherwise keep.
QUERY_SECRET = re.compile(r"(?<=[?&]code=)[^&\s\"']+")
MASK = "[redacted]"
K = TypeVar("K")
_MAX_NAMES = 20_000


class _Names:
    """A bounded set of names, matched by lookup rather than by one huge regex: a new case's
    names arrive with every intake, and recompiling an alternation of thousands of names
    on each would cost more than the logging it protects. Only the places holding a name's
    first character are looked at, and a line holding none (most lines: the names are
    Chinese, the log's words are not) is handed back as it came, in one pass in C."""

    def __init__(self) -> None:
        self._names: OrderedDict[str, None] = OrderedDict()
        self._lengths: Counter[int] = Counter()  # how many names have each length
        self._firsts: Counter[str] = Counter()  # how many names start with each character
        self._longest_first: tuple[int, ...] = ()  # the lengths present, longest first
        self._starts: frozenset[str] = frozenset()  # the first characters present
        self._lock = threading.Lock()

    def add(self, names: Iterable[str]) -> None:
        with self._lock:
            for name in names:
                name = name.strip()
                if len(name) < 2:  # one character would mask half of every Chinese line
                    continue
                if name in self._names:
                    self._names.move_to_end(name)
                    continue
                self._names[name] = None
                self._count(name, 1)
            while len(self._names) > _MAX_NAMES:
                self._count(self._names.popitem(last=False)[0], -1)
            self._longest_first = tuple(sorted(self._lengths, reverse=True))
            if self._firsts.keys() != self._starts:
                self._starts = frozenset(self._firsts)

    def _count(self, name: str, delta: int) -> None:
        _tally(self._lengths, len(name), delta)
        _tally(self._firsts, name[0], delta)

    def mask(self, text: str) -> str:
        starts = self._starts
        if starts.isdisjoint(text):
            return text
        names, lengths = self._names, self._longest_first
        out: list[str] = []
        i = kept = 0
        while i < len(text):
            if text[i] in starts:
                for n in lengths:
                    if text[i : i + n] in names:
                        out += (text[kept:i], MASK)
                        i = kept = i + n
                        break
                else:
                    i += 1
            else:
                i += 1
        if not out:
            return text
        out.append(text[kept:])
        return "".join(out)


def _tally(counter: Counter[K], key: K, delta: int) -> None:
    counter[key] += delta
    if counter[key] <= 0:
        del counter[key]


_names = _Names()


def remember_names(names: Iterable[str]) -> None:
    """Register party names so that log lines mentioning them are masked."""
    _names.add(names)


def redact(text: str) -> str:
    text = QUERY_SECRET.sub(MASK, text)
    text = ID_NUMBER.sub(MASK, text)
    text = PHONE.sub(MASK, text)
    text = LANDLINE.sub(MASK, text)
    return _names.mask(text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    return value


class RedactingFilter(logging.Filter):
    """On a handler: every record it emits — ours, uvicorn's, temporalio's — is masked.
    The message is rendered once, masked, and its exception text is masked too."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):  # structlog's own event, on its way to rendering
            record.msg = _redact_value(record.msg)
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string still gets logged, masked
            message = str(record.msg)
        if record.exc_info:  # the traceback joins the message, masked like it
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = record.exc_text = None
        if record.stack_info:
            message += "\n" + record.stack_info
            record.stack_info = None
        record.msg, record.args = redact(message), None
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD and isinstance(value, str | dict | list | tuple):
                record.__dict__[key] = _redact_value(value)
        return True


_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def structlog_processor(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The same masking for structlog's own events and fields."""
    for key, value in list(event_dict.items()):
        if key != "_record":
            event_dict[key] = _redact_value(value)
    return event_dict
