"""Registry import: every row checked first, all or nothing, duplicates reported, cases opened through the service."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import Session, col, select

from cases import audit
from cases.config import District
from cases.errors import NotAllowed
from cases.models import Case, CaseEvent, Point
from cases.registry_import import BASIS, check_registry, import_registry
from cases.workbook import ImportRefused
from tests.conftest import NOW, Driver, People
from tests.workbooks import POINT_HEADERS, book

TODAY = date(2026, 11, 2)


def rows(n: int, town: str = "梅厂镇", start: int = 1) -> list[list[object]]:
    return [[f"第{i}托幼点", town, f"前庄村{i}号", f"举办者{i}", f"1380013{i:04d}", date(2022, 3, 1)]
            for i in range(start, start + n)]


def count(session: Session, model: type) -> int:
    return len(session.exec(select(model)).all())


def run(session: Session, district: District, data: bytes, actor: object, **kw: object):  # type: ignore[no-untyped-def]
    return import_registry(session, district, data, actor=actor, today=TODAY, now=NOW, **kw)  # type: ignore[arg-type]


def test_a_good_file_opens_one_case_a_row_through_the_service(session: Session, district: District,
                                                              people: People) -> None:
    data = book(POINT_HEADERS, [
        ["阳光托幼点", "120114101", "前庄村1号", "张三", "13800138000", date(2023, 5, 1)],
        ["小太阳托幼点", "大碱厂镇", "后庄村2号", "李四", "", "2023/5/1"],
        ["星星托幼点", "梅厂", "东庄村3号", "王五", "０２２－２９３４１２３４", "２０２３年５月１日"],
        ["月亮托幼点", "崔黄口镇", "西庄村4号", "赵六", 13900139000, datetime(2021, 9, 1, 0, 0)],
    ])
    seen: list[tuple[int, int]] = []
    result = run(session, district, data, people.reviewer, progress=lambda d, t: seen.append((d, t)))
    assert result.imported == 4 and seen[-1] == (4, 4)
    cases = session.exec(select(Case).order_by(col(Case.id))).all()
    assert [c.state for c in cases] == ["registered"] * 4
    points = session.exec(select(Point).order_by(col(Point.id))).all()
    assert [p.registered_on for p in points] == [date(2023, 5, 1)] * 3 + [date(2021, 9, 1)]
    assert points[2].phone == "022-29341234" and points[3].phone == "13900139000"
    assert {p.source for p in points} == {"registry"}
    events = session.exec(select(CaseEvent).order_by(col(CaseEvent.id))).all()
    assert [e.trigger for e in events] == ["open"] * 4
    assert events[0].data["basis"] == BASIS and events[0].data["import_row"] == 2
    assert audit.verify(session, None) == []


def test_any_bad_row_and_nothing_is_written(session: Session, district: District, people: People) -> None:
    good = rows(3)
    data = book(POINT_HEADERS, [
        good[0],
        ["", "梅厂镇", "前庄村9号", "张三", "", "2023-05-01"],  # row 4: no name
        ["乙托幼点", "不存在镇", "前庄村9号", "张三", "", "2023-05-01"],  # row 5: unknown township
        ["丙托幼点", "梅厂镇", "前庄村9号", "张三", "电话待补", "2023-02-30"],  # row 6: two bad cells
        good[1],
        ["丁托幼点", "梅厂镇", "前庄村9号", "张三", "", "2099-01-01"],  # row 8: future
        ["戊托幼点", "梅厂镇", "前庄村9号", "张三", "", None],  # row 9: no date
    ], title="梅厂镇民办托幼点名册")
    with pytest.raises(ImportRefused) as exc:
        run(session, district, data, people.reviewer)
    errors = exc.value.errors
    assert [(e.row, e.column) for e in errors] == [
        (4, "托幼点名称"), (5, "镇街"), (6, "联系电话"), (6, "首次登记日期"), (8, "首次登记日期"), (9, "首次登记日期")]
    assert errors[0].zh == "第4行「托幼点名称」：不能为空（应为：托幼点名称，不超过 200 字）"
    assert errors[0].en.startswith("row 4 [托幼点名称]: must not be empty (expected:")
    assert "日期不存在" in errors[3].problem_zh and "晚于今天" in errors[4].problem_zh
    assert exc.value.total == 7 and "5 行数据有误" in exc.value.zh
    assert count(session, Point) == 0 and count(session, Case) == 0 and count(session, CaseEvent) == 0


def test_skip_invalid_imports_the_good_rows(session: Session, district: District, people: People) -> None:
    data = book(POINT_HEADERS, [*rows(2), ["乙托幼点", "不存在镇", "某村", "张三", "", "2023-05-01"]])
    result = run(session, district, data, people.reviewer, skip_invalid=True)
    assert result.imported == 2 and result.check.bad_rows == [4]
    assert result.as_dict()["skipped_rows"] == [4]
    assert count(session, Case) == 2


def test_importing_the_same_file_again_adds_nothing(session: Session, district: District, people: People) -> None:
    data = book(POINT_HEADERS, rows(5))
    assert run(session, district, data, people.reviewer).imported == 5
    again = run(session, district, data, people.reviewer)
    assert again.imported == 0 and len(again.check.duplicates) == 5
    assert {d.point_id for d in again.check.duplicates} == {p.id for p in session.exec(select(Point)).all()}
    assert count(session, Case) == 5


def test_likely_duplicates_by_place_or_by_operator_and_phone(session: Session, district: District,
                                                             people: People, driver: Driver) -> None:
    driver.open(name="阳光托幼点")  # 某村1号, 张三, no phone
    data = book(POINT_HEADERS, [
        ["阳光 托幼点", "梅厂镇", "某村１号", "另一人", "", "2022-01-01"],  # same name+address as the registered
        ["甲托幼点", "梅厂镇", "一号路", "李四", "138-0013-8000", "2022-01-01"],
        ["甲托幼点（分点）", "梅厂镇", "二号路", "李四", "13800138000", "2022-01-01"],  # same operator+phone as row 3
        ["乙托幼点", "梅厂镇", "三号路", "张三", "", "2022-01-01"],  # same operator, no phone: not a duplicate
        ["甲托幼点", "梅厂镇", "一号路", "王五", "", "2022-01-01"],  # same name+address as row 3
    ])
    check = check_registry(session, data, actor=people.reviewer, today=TODAY)
    assert [p.row for p in check.new] == [3, 5]
    dups = {d.point.row: d for d in check.duplicates}
    assert set(dups) == {2, 4, 6}
    assert dups[2].point_id is not None and "同名同址" in dups[2].reason_zh
    assert dups[4].same_row == 3 and "举办者和电话相同" in dups[4].reason_zh
    assert dups[6].same_row == 3
    result = run(session, district, data, people.reviewer)
    assert result.imported == 2 and count(session, Case) == 3


def test_inspectors_import_their_own_township_only(session: Session, district: District, people: People) -> None:
    data = book(POINT_HEADERS, [*rows(1), *rows(1, town="大碱厂镇", start=2)])
    with pytest.raises(ImportRefused) as exc:
        run(session, district, data, people.inspector)
    assert [(e.row, e.column) for e in exc.value.errors] == [(3, "镇街")]
    assert "不在您的辖区" in exc.value.errors[0].problem_zh
    assert run(session, district, book(POINT_HEADERS, rows(2)), people.inspector).imported == 2
    for who in (people.lead, people.committee):
        with pytest.raises(NotAllowed):
            run(session, district, data, who)


def test_chunks_commit_as_they_go(session: Session, district: District, people: People) -> None:
    seen: list[int] = []
    result = run(session, district, book(POINT_HEADERS, rows(7)), people.reviewer, chunk=3, workers=1,
                 progress=lambda d, t: seen.append(d))
    assert seen == [3, 6, 7] and result.imported == 7
    assert result.case_ids == sorted(result.case_ids) and len(set(result.case_ids)) == 7


def test_a_failing_chunk_rolls_back_only_itself(session: Session, district: District, people: People,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import cases.registry_import as ri

    calls = {"n": 0}
    real = ri.open_case

    def flaky(**kw: object):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("disk full")
        return real(**kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ri, "open_case", flaky)
    with pytest.raises(RuntimeError):
        run(session, district, book(POINT_HEADERS, rows(6)), people.reviewer, chunk=3, workers=1)
    assert count(session, Case) == 3 and count(session, Point) == 3  # the first chunk stands, the second is gone
    monkeypatch.setattr(ri, "open_case", real)
    again = run(session, district, book(POINT_HEADERS, rows(6)), people.reviewer, chunk=3)
    assert again.imported == 3 and len(again.check.duplicates) == 3  # running it again finishes the job


def test_cells_the_input_policy_refuses_are_row_errors(session: Session, district: District,
                                                       people: People) -> None:
    data = book(POINT_HEADERS, [
        ["甲\u202e托幼点", "梅厂镇", "一号路", "张三", "", "2023-05-01"],  # a bidirectional override
        ["乙托幼点", "梅厂镇", "\u200b\u200b", "李四", "", "2023-05-01"],  # only invisible characters
        ["丙托幼点", "梅厂镇", "三号路", "王五", "", "2023-05-01"],
    ])
    with pytest.raises(ImportRefused) as exc:
        run(session, district, data, people.reviewer)
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "托幼点名称"), (3, "地址")]
    assert "控制字符" in exc.value.errors[0].problem_zh and "不能为空" in exc.value.errors[1].problem_zh
    assert count(session, Case) == 0


def test_chunks_in_parallel_on_postgresql(session: Session, district: District, people: People) -> None:
    parallel = session.get_bind().dialect.name == "postgresql"  # SQLite has one writer: chunks go in turn
    seen: list[int] = []
    result = run(session, district, book(POINT_HEADERS, rows(9)), people.reviewer, chunk=2,
                 workers=3 if parallel else None, progress=lambda d, t: seen.append(d))
    assert result.imported == 9 and sorted(seen) == seen and seen[-1] == 9
    names = {p.id: p.name for p in session.exec(select(Point)).all()}
    cases = session.exec(select(Case)).all()
    assert len(cases) == 9 and sorted(names.values()) == sorted(f"第{i}托幼点" for i in range(1, 10))
    assert result.case_ids == [c.id for c in sorted(cases, key=lambda c: int(names[c.point_id][1:-3]))]
    assert audit.verify(session, None) == []
