"""The three rates: figures imported or typed by the bureau, checked row by row, and the rates they give."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases.config import District
from cases.errors import InvalidInput, NotAllowed
from cases.indicators import (
    import_stats,
    indicator_report,
    latest_public_share,
    percent,
    require_public_share,
    save_stat,
)
from cases.models import TownshipStat
from cases.workbook import ImportRefused
from tests.conftest import People
from tests.workbooks import STAT_HEADERS, book

TODAY = date(2026, 11, 2)
T1, T2, T3 = "120114101", "120114102", "120114103"  # 梅厂镇, 大碱厂镇, 崔黄口镇


def stats_count(session: Session) -> int:
    return len(session.exec(select(TownshipStat)).all())


def test_rates_per_township_and_district(session: Session, district: District, people: People) -> None:
    data = book(STAT_HEADERS, [
        [T1, 2024, 1000, 950, 520, 350],  # 95.0 / 91.6 / 54.7
        ["大碱厂镇", 2024, 800, 700, 300, 200],  # by name: 87.5 / 71.4 / 42.9
        ["崔黄口", "２０２４", "１２００", "1,150", 600.0, "400"],  # short name, full-width and grouped digits
    ])
    result = import_stats(session, data, actor=people.reviewer, today=TODAY)
    assert (result.added, result.updated, result.unchanged, result.years) == (3, 0, 0, [2024])
    report = indicator_report(session, district).as_dict(district)
    assert report["year"] == 2024
    rows = {r["code"]: r for r in report["townships"]}
    assert (rows[T1]["gross_enrolment"], rows[T1]["inclusive_coverage"], rows[T1]["public_share"]) == (95.0, 91.6, 54.7)
    assert rows[T1]["meets"] == {"gross_enrolment": True, "inclusive_coverage": True, "public_share": True}
    assert rows[T2]["meets"] == {"gross_enrolment": False, "inclusive_coverage": False, "public_share": False}
    assert (rows[T3]["population"], rows[T3]["enrolled"]) == (1200, 1150)
    total = report["district"]
    assert (total["population"], total["enrolled"], total["public"], total["inclusive_private"]) == (
        3000, 2800, 1420, 950)
    assert total["gross_enrolment"] == 93.3 and total["inclusive_coverage"] == 84.6 and total["public_share"] == 50.7
    assert total["meets"]["inclusive_coverage"] is False and total["all_met"] is False
    assert [t["target"] for t in report["rates"]] == [93, 85, 50]
    assert len(report["missing"]) == 21 and "梅厂镇" not in report["missing"]
    assert report["below"]["public_share"] == ["大碱厂镇"]


def test_one_decimal_half_up() -> None:
    assert percent(2, 3) == 66.7
    assert percent(1, 16) == 6.3  # 6.25 → 6.3, not banker's 6.2
    assert percent(93, 100) == 93.0
    assert percent(1, 0) is None


def test_targets_come_from_the_district_file(session: Session, shijingshan: District, district: District) -> None:
    assert shijingshan.indicators is not None and district.indicators is not None
    assert (shijingshan.indicators.gross_enrolment, shijingshan.indicators.inclusive_coverage,
            shijingshan.indicators.public_share) == (95, 90, 50)
    assert (district.indicators.gross_enrolment, district.indicators.inclusive_coverage,
            district.indicators.public_share) == (93, 85, 50)


@pytest.mark.parametrize(("row", "column", "words"), [
    ([T1, 2024, 1000, 0, 0, 0], "在园幼儿数", "须大于 0"),
    ([T1, 2024, 1000, 500, 501, 0], "公办园在园幼儿数", "大于在园幼儿数"),
    ([T1, 2024, 1000, 500, 300, 201], "普惠性民办园在园幼儿数", "之和 501 大于在园幼儿数"),
    ([T1, 2024, 1000, 500, 300, 600], "普惠性民办园在园幼儿数", "大于在园幼儿数"),
    ([T1, 2024, 1000, -5, 0, 0], "在园幼儿数", "负数"),
    ([T1, 2024, 1000, 500.5, 0, 0], "在园幼儿数", "须为整数"),
    ([T1, 2024, "约一千", 500, 0, 0], "常住适龄幼儿数", "不是数字"),
    ([T1, 2024, 0, 500, 0, 0], "常住适龄幼儿数", "须大于 0"),
    (["不存在镇", 2024, 1000, 500, 0, 0], "镇街", "没有镇街"),
    ([T1, 1999, 1000, 500, 0, 0], "年份", "2000"),
    ([T1, 2031, 1000, 500, 0, 0], "年份", "2026"),
    ([T1, 2024, "", 500, 0, 0], "常住适龄幼儿数", "不能为空"),
])
def test_bad_figures_are_refused_and_nothing_is_written(
        session: Session, people: People, row: list[object], column: str, words: str) -> None:
    data = book(STAT_HEADERS, [[T2, 2024, 800, 700, 300, 200], row])
    with pytest.raises(ImportRefused) as exc:
        import_stats(session, data, actor=people.reviewer, today=TODAY)
    [error] = exc.value.errors
    assert error.row == 3 and error.column == column and words in error.problem_zh
    assert error.zh.startswith("第3行「") and error.allowed_zh and error.en.startswith("row 3 [")
    assert stats_count(session) == 0


def test_skip_invalid_keeps_the_good_rows(session: Session, people: People) -> None:
    data = book(STAT_HEADERS, [[T1, 2024, 1000, 950, 520, 350], [T2, 2024, 800, 0, 0, 0],
                               [T1, 2024, 1000, 950, 520, 350]])
    result = import_stats(session, data, actor=people.reviewer, today=TODAY, skip_invalid=True)
    assert result.added == 1
    assert sorted({e.row for e in result.skipped}) == [3, 4]
    assert "重复" in next(e for e in result.skipped if e.row == 4).problem_zh


def test_importing_again_adds_nothing_and_corrections_replace(session: Session, district: District,
                                                              people: People) -> None:
    data = book(STAT_HEADERS, [[T1, 2024, 1000, 950, 520, 350]])
    import_stats(session, data, actor=people.reviewer, today=TODAY)
    again = import_stats(session, data, actor=people.reviewer, today=TODAY)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    fixed = import_stats(session, book(STAT_HEADERS, [[T1, 2024, 1000, 960, 520, 350]]), actor=people.reviewer,
                         today=TODAY)
    assert (fixed.added, fixed.updated) == (0, 1)
    assert stats_count(session) == 1
    assert indicator_report(session, district).townships[0].enrolled == 960


def test_only_the_bureau_keeps_the_figures(session: Session, people: People) -> None:
    data = book(STAT_HEADERS, [[T1, 2024, 1000, 950, 520, 350]])
    for who in (people.inspector, people.lead, people.committee):
        with pytest.raises(NotAllowed):
            import_stats(session, data, actor=who, today=TODAY)
    import_stats(session, data, actor=people.admin, today=TODAY)


def test_latest_public_share_reads_the_newest_year(session: Session, people: People) -> None:
    assert latest_public_share(session, T1) is None
    with pytest.raises(InvalidInput, match="尚无公办园在园幼儿占比"):
        require_public_share(session, T1)
    import_stats(session, book(STAT_HEADERS, [[T1, 2023, 1000, 900, 400, 300], [T1, 2025, 1000, 800, 480, 200],
                                              [T1, 2024, 1000, 950, 520, 350]]), actor=people.reviewer, today=TODAY)
    share = require_public_share(session, T1)
    assert (share.year, share.public, share.enrolled, share.percent) == (2025, 480, 800, 60.0)
    assert share.share == pytest.approx(0.6)
    assert latest_public_share(session, T2) is None


def test_report_for_a_year_and_unknown_years(session: Session, district: District, people: People) -> None:
    assert indicator_report(session, district).year is None
    import_stats(session, book(STAT_HEADERS, [[T1, 2023, 1000, 900, 400, 300], [T1, 2024, 1000, 950, 520, 350]]),
                 actor=people.reviewer, today=TODAY)
    assert indicator_report(session, district).year == 2024
    old = indicator_report(session, district, year=2023)
    assert old.townships[0].enrolled == 900 and old.years == [2024, 2023]
    with pytest.raises(InvalidInput, match="没有 2020 年"):
        indicator_report(session, district, year=2020)


def test_the_form_checks_like_the_import(session: Session, people: People) -> None:
    fields = {"township": T1, "year": "2024", "population": "1000", "enrolled": "900", "public": "600",
              "inclusive_private": "400"}
    with pytest.raises(InvalidInput) as exc:
        save_stat(session, actor=people.reviewer, fields=fields, today=TODAY)
    assert "之和 1000 大于在园幼儿数 900" in exc.value.zh
    with pytest.raises(NotAllowed):
        save_stat(session, actor=people.inspector, fields={**fields, "inclusive_private": "100"}, today=TODAY)
    done = save_stat(session, actor=people.reviewer, fields={**fields, "inclusive_private": "100"}, today=TODAY)
    assert done.added == 1
    row = session.exec(select(TownshipStat)).one()
    assert (row.source, row.updated_by) == ("form", people.reviewer.id)


def test_counts_beyond_any_township_are_refused(session: Session, people: People) -> None:
    data = book(STAT_HEADERS, [[T1, 2024, 3_000_000_000, 950, 520, 350]])
    with pytest.raises(ImportRefused) as exc:
        import_stats(session, data, actor=people.reviewer, today=TODAY)
    assert "过大" in exc.value.errors[0].problem_zh
    assert session.connection().execute(sa.text("select count(*) from township_stat")).scalar() == 0


def test_a_sheets_own_total_row_is_left_out(session: Session, district: District, people: People) -> None:
    data = book(STAT_HEADERS, [[T1, 2024, 1000, 950, 520, 350], [T2, 2024, 800, 700, 300, 200],
                               ["合计", 2024, 1800, 1650, 820, 550]])
    result = import_stats(session, data, actor=people.reviewer, today=TODAY)
    assert (result.added, result.total_rows) == (2, [4])
    assert indicator_report(session, district).district.enrolled == 1650  # type: ignore[union-attr]
