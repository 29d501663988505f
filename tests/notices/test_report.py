"""The 督查通报: figures by township and state, overdue by level, reduction, rendered with charts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from cases.config import District
from cases.models import Case, CaseEvent, Point, Township
from cases.notices import verify_pdf
from cases.notices.charts import column_chart, nice_max, stacked_bar_chart
from cases.notices.report import bulletin_data, issue_bulletin, period_of, render_report
from tests.notices.conftest import KEY, new_engine, pdf_text

TODAY = date(2026, 11, 25)  # a Wednesday

# (township index, state, deadline, escalation level)
CASES = [
    (0, "rectifying", date(2026, 12, 10), 0),
    (0, "overdue", date(2026, 11, 10), 2),
    (0, "closed", None, 0),
    (0, "filed", None, 0),
    (1, "banned", None, 0),
    (1, "overdue", date(2026, 11, 2), 3),
    (1, "rectifying", date(2026, 11, 20), 1),  # late, not yet marked overdue
    (1, "converted", None, 0),
    (2, "under_review", None, 0),
    (2, "filing_proposed", None, 0),
]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory, wuqing: District) -> Session:
    engine = new_engine(tmp_path_factory.mktemp("report"))
    session = Session(engine, expire_on_commit=False)
    towns = []
    for t in wuqing.townships:
        tw = Township(code=t.code, name=t.name)
        session.add(tw)
        towns.append(tw)
    session.flush()
    for i, (ti, state, deadline, level) in enumerate(CASES):
        town = towns[ti]
        p = Point(name=f"托幼点{i}", township_id=town.id or 0, address="某路", operator="某人",
                  registered_on=date(2023, 1, 1))
        session.add(p)
        session.flush()
        c = Case(point_id=p.id or 0, township_id=town.id or 0, state=state, deadline=deadline,
                 escalation_level=level)
        session.add(c)
        session.flush()
        session.add(CaseEvent(case_id=c.id or 0, seq=1, at=datetime(2026, 11, 24, 3, tzinfo=UTC), actor="x",
                              role="inspector", trigger="order_rectification" if i % 2 else "approve",
                              from_state="under_review", to_state=state, prev_hash="", hash="h"))
    session.add(CaseEvent(case_id=1, seq=2, at=datetime(2026, 10, 1, tzinfo=UTC), actor="x", role="inspector",
                          trigger="order_rectification", from_state="a", to_state="b", prev_hash="h", hash="i"))
    session.commit()
    return session


def test_periods() -> None:
    week = period_of("week", TODAY)
    assert (week.start, week.end, week.key) == (date(2026, 11, 23), date(2026, 11, 29), "2026-W48")
    month = period_of("month", TODAY)
    assert (month.start, month.end, month.key) == (date(2026, 11, 1), date(2026, 11, 30), "2026-11")


def test_figures(db: Session, wuqing: District) -> None:
    data = bulletin_data(db, wuqing, period_of("week", TODAY), as_of=TODAY)
    t = data["totals"]
    assert t["total"] == 10
    assert t["reduced"] == 3  # closed, banned, converted
    assert t["reduction_pct"] == 30.0
    assert t["groups"]["overdue"] == 2 and t["groups"]["filed"] == 1 and t["groups"]["proposed"] == 1
    rows = {r["name"]: r for r in data["townships"]}
    first, second = wuqing.townships[0].name, wuqing.townships[1].name
    assert rows[first]["total"] == 4 and rows[first]["reduced"] == 1 and rows[first]["reduction_pct"] == 25.0
    assert rows[second]["reduced"] == 3 - 1
    assert len(rows) == len(wuqing.townships)  # every township listed, even without cases
    od = data["overdue"]
    assert od["total"] == 3
    assert od["by_level"] == {"0": 0, "1": 1, "2": 1, "3": 1}
    assert od["cases"][0]["level"] == 3  # highest level first
    assert data["period_events"]["transitions"] == 10  # the October event is outside the week
    assert data["period_events"]["orders"] == 5


def test_bulletin_is_issued_once_per_figures(db: Session, wuqing: District) -> None:
    a = issue_bulletin(db, wuqing, "month", today=TODAY)
    db.commit()
    b = issue_bulletin(db, wuqing, "month", today=TODAY)
    assert a.number == b.number and a.number.startswith("武清教通〔2026〕")


def test_rendered_bulletin(db: Session, wuqing: District, tmp_path: Path) -> None:
    notice, path = render_report(db, wuqing, "week", tmp_path / "通报.pdf", today=TODAY, key=KEY)
    assert path.exists()
    text = pdf_text(path)
    assert notice.number in text and "督查通报" in text
    assert "共10个" in text and "30.0%" in text
    assert "挂牌督办1件" in text
    assert wuqing.townships[0].name in text
    assert "图1" in text and "图2" in text and "图3" in text  # the charts' captions
    assert b"<svg" not in path.read_bytes()  # charts are drawn into the PDF, not left as markup
    assert verify_pdf(db, path).status == "genuine"


def test_chart_geometry() -> None:
    assert nice_max(51) == (60, 15) or nice_max(51)[0] >= 51
    c = column_chart(["a", "b"], [0, 10])
    assert c["bars"][0]["h"] == 0 and c["bars"][1]["h"] > 0
    assert c["bars"][1]["y"] + c["bars"][1]["h"] == pytest.approx(c["base"])
    s = stacked_bar_chart(["x", "y"], [("one", [1, 2]), ("two", [3, 0])])
    assert [len(r["segs"]) for r in s["rows"]] == [2, 1]


@pytest.mark.parametrize("counts", [[1, 0, 0], [0, 2], [3, 1], [9, 4], [0, 0]])
def test_count_charts_tick_whole_numbers(counts: list[int]) -> None:
    """A chart of cases counts in whole cases: 1 overdue case is not drawn against ticks of 0.25, 0.5, 0.75."""
    for chart in (column_chart([str(i) for i in range(len(counts))], counts),
                  stacked_bar_chart([str(i) for i in range(len(counts))], [("件", counts)])):
        labels = [g["label"] for g in chart["grid"]]
        assert labels[0] == "0" and all(label.isdigit() for label in labels), labels
        assert int(labels[-1]) >= max(counts) and len(labels) <= 5, labels
    rates = nice_max(1)  # a rate (percent) may tick in fractions
    assert rates[1] < 1


def test_bulletin_shows_the_three_rates(db: Session, wuqing: District, tmp_path: Path) -> None:
    from cases.indicators import import_stats
    from cases.models import TownshipStat, User
    from tests.workbooks import STAT_HEADERS, book

    per = period_of("week", TODAY)
    assert bulletin_data(db, wuqing, per, as_of=TODAY)["indicators"]["district"] is None
    bureau = User(name="rev", role="reviewer")
    db.add(bureau)
    db.commit()
    import_stats(db, book(STAT_HEADERS, [[wuqing.townships[0].code, 2025, 1000, 950, 520, 350],
                                         [wuqing.townships[1].code, 2025, 800, 700, 300, 200]]),
                 actor=bureau, today=TODAY)
    try:
        data = bulletin_data(db, wuqing, per, as_of=TODAY)
        ind = data["indicators"]
        assert ind["year"] == 2025 and ind["district"]["gross_enrolment"] == 91.7
        assert ind["district_missed"] == ["学前三年毛入园率", "普惠性幼儿园覆盖率", "公办园在园幼儿占比"]
        _notice, path = render_report(db, wuqing, "week", tmp_path / "bulletin.pdf", today=TODAY, key=KEY)
        text = pdf_text(path)
        assert "学前教育“三率”情况" in text and "全区学前三年毛入园率91.7%" in text
        assert "图4" in text and "普惠性幼儿园覆盖率未达标的镇街1个：大碱厂镇" in text.replace("\n", "")
    finally:
        for row in db.exec(__import__("sqlmodel").select(TownshipStat)).all():
            db.delete(row)
        db.delete(bureau)
        db.commit()


def test_paired_chart_geometry() -> None:
    from cases.notices.charts import paired_column_chart

    c = paired_column_chart(["毛入园率", "覆盖率"], [91.0, 85.3], [93.0, None], unit="%")
    assert [b["value"] for b in c["bars"]] == ["91.0%", "93%", "85.3%"]  # no column for a missing target
    tall = max(c["bars"], key=lambda b: b["h"])
    assert tall["value"] == "93%" and all(b["y"] + b["h"] == c["base"] for b in c["bars"])
