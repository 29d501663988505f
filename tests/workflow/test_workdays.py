"""Working days on the Chinese official calendar."""

from __future__ import annotations

from datetime import date

from workflow.workdays import WorkCalendar

CAL = WorkCalendar()


def test_national_day_holiday_and_make_up_saturday() -> None:
    assert not CAL.is_workday(date(2026, 10, 1))
    assert not CAL.is_workday(date(2026, 10, 7))
    assert CAL.is_workday(date(2026, 10, 10))  # Saturday, 调休 make-up working day
    # 5 working days after Tue 29 Sep: 30 Sep, then 8, 9, 10 (Sat), 12 Oct
    assert CAL.add(date(2026, 9, 29), 5) == date(2026, 10, 12)
    assert CAL.between(date(2026, 9, 29), date(2026, 10, 12)) == 5


def test_calendar_days_mode() -> None:
    cal = WorkCalendar(mode="calendar")
    assert cal.add(date(2026, 9, 29), 5) == date(2026, 10, 4)
    assert cal.between(date(2026, 9, 29), date(2026, 10, 4)) == 5


def test_unknown_year_falls_back_to_weekends_and_overrides() -> None:
    cal = WorkCalendar(extra_holidays=frozenset({date(2027, 1, 1)}), extra_workdays=frozenset({date(2027, 1, 9)}))
    assert not cal.is_workday(date(2027, 1, 1))  # Friday, configured holiday
    assert cal.is_workday(date(2027, 1, 4))  # Monday
    assert not cal.is_workday(date(2027, 1, 2))  # Saturday
    assert cal.is_workday(date(2027, 1, 9))  # Saturday, configured make-up day


def test_between_is_signed() -> None:
    assert CAL.between(date(2026, 11, 9), date(2026, 11, 2)) == -5
    assert CAL.next_workday(date(2026, 11, 7)) == date(2026, 11, 9)
