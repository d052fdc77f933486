"""Calendar helpers for the workflow: the centre works in China Standard Time (UTC+8)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

CENTRE_TZ = timezone(timedelta(hours=8), "CST")


def end_of_day(day: date) -> datetime:
    """The moment a performance date has fully passed, in the centre's time zone."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=CENTRE_TZ)
