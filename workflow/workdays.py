"""Working days (工作日) on the Chinese official calendar, holidays and 调休 make-up days counted.

The bundled calendar (`chinesecalendar`) knows the State Council's published years; for a
year it does not know yet, weekends are rest days and the district config's overrides
(`[calendar] holidays/workdays`) fill in what has been announced since.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import chinese_calendar

_LOGGER = logging.getLogger(__name__)
_WARNED_YEARS: set[int] = set()


@lru_cache(maxsize=8192)
def _official_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _WARNED_YEARS:
            _WARNED_YEARS.add(day.year)
            _LOGGER.warning("official calendar for %s unknown: counting weekends only plus config overrides",
                            day.year)
        return day.weekday() < 5


@dataclass(frozen=True)
class WorkCalendar:
    """Counts deadlines in working days (`mode="workdays"`) or calendar days."""

    mode: Literal["workdays", "calendar"] = "workdays"
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        return _official_workday(day)

    def add(self, start: date, days: int) -> date:
        """The day `days` (working) days after `start`; `start` itself does not count."""
        if days < 0:
            raise ValueError("days must not be negative")
        if self.mode == "calendar":
            return start + timedelta(days=days)
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """How many (working) days lie after `start` up to and including `end` (negative if before)."""
        if end < start:
            return -self.between(end, start)
        if self.mode == "calendar":
            return (end - start).days
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_workday(day):
                count += 1
        return count

    def next_workday(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day
