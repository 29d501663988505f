"""The 整治台账 workbook: one row a case, the columns a bureau files, scoped to what the user may see."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import Session

from cases.config import District
from cases.errors import InvalidInput, NotFound
from cases.ledger import COLUMNS, LedgerFilter, ledger_bytes
from cases.models import User
from tests.conftest import NOW, Driver, People

TODAY = date(2026, 11, 2)


def sheet(data: bytes) -> tuple[Any, list[tuple[Any, ...]]]:
    wb = load_workbook(io.BytesIO(data))
    ws = wb.worksheets[0]
    return wb, list(ws.iter_rows(values_only=True))


@pytest.fixture
def cases(driver: Driver, people: People) -> dict[str, int]:
    a = driver.open(name="甲托幼点")
    driver.do(a, "start_review")
    driver.do(a, "order_rectification", failed=("P02",), major=("F01",))
    b = driver.open(name="乙托幼点", town=people.other_town, actor=people.other_inspector)
    c = driver.open(name="丙托幼点")
    driver.do(c, "start_review")
    driver.do(c, "propose_filing")
    driver.do(c, "approve", actor=people.reviewer)
    assert a.id and b.id and c.id
    return {"a": a.id, "b": b.id, "c": c.id}


def test_one_row_a_case_with_the_bureau_columns(session: Session, district: District, people: People,
                                                cases: dict[str, int]) -> None:
    wb, rows = sheet(ledger_bytes(session, district, user=people.reviewer, flt=LedgerFilter(), today=TODAY))
    assert rows[0] == tuple(h for h, _w in COLUMNS)
    assert rows[0][:3] == ("案件编号", "托幼点", "镇街") and rows[0][-3:] == ("不合格项", "文书文号", "结果")
    body = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(body) == set(cases.values())
    a = body[cases["a"]]
    assert (a["托幼点"], a["镇街"], a["状态"], a["轮次"]) == ("甲托幼点", people.town.name, "整改中", 1)
    assert a["首次登记"] == datetime(2022, 5, 1)  # a real date cell, read back as a datetime
    assert isinstance(a["当前期限"], datetime) and a["剩余工作日"] == district.work_calendar().between(
        TODAY, a["当前期限"].date())
    assert a["最近检查日期"] == datetime(2026, 11, 2)
    assert a["不合格项"].startswith("F01 ") and "（重大隐患）" in a["不合格项"] and "P02 " in a["不合格项"]
    assert a["文书文号"].startswith("武清教整〔2026〕") and a["督办级别"] == "未督办" and a["结果"] is None
    c = body[cases["c"]]
    assert (c["状态"], c["结果"], c["当前期限"], c["督办级别"]) == ("已备案", "予以备案", None, None)
    assert c["文书文号"].startswith("武清教备〔2026〕")
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == f"A1:P{len(rows)}"
    assert ws["G2"].number_format == "yyyy-mm-dd" and ws.column_dimensions["B"].width > 20
    summary = [r for r in wb.worksheets[1].iter_rows(values_only=True)]
    assert "整治台账" in summary[0][0] and ("案件总数", 3) in summary


def test_township_users_see_their_own_township_only(session: Session, district: District, people: People,
                                                    cases: dict[str, int]) -> None:
    for user in (people.inspector, people.lead):
        _wb, rows = sheet(ledger_bytes(session, district, user=user, flt=LedgerFilter(), today=TODAY))
        assert sorted(r[0] for r in rows[1:]) == sorted([cases["a"], cases["c"]])
    with pytest.raises(NotFound):
        ledger_bytes(session, district, user=people.inspector, flt=LedgerFilter(township=people.other_town.code),
                     today=TODAY)
    _wb, rows = sheet(ledger_bytes(session, district, user=people.committee,
                                   flt=LedgerFilter(township=people.other_town.code), today=TODAY))
    assert [r[0] for r in rows[1:]] == [cases["b"]]


def test_filters_and_errors(session: Session, district: District, people: People, cases: dict[str, int]) -> None:
    _wb, rows = sheet(ledger_bytes(session, district, user=people.reviewer, flt=LedgerFilter(state="filed"),
                                   today=TODAY))
    assert [r[0] for r in rows[1:]] == [cases["c"]]
    with pytest.raises(InvalidInput, match="没有名为 nope 的状态"):
        ledger_bytes(session, district, user=people.reviewer, flt=LedgerFilter(state="nope"), today=TODAY)
    with pytest.raises(NotFound):
        ledger_bytes(session, district, user=people.reviewer, flt=LedgerFilter(township="999"), today=TODAY)
    empty = User(name="x", role="inspector", township_id=None)
    _wb, rows = sheet(ledger_bytes(session, district, user=empty, flt=LedgerFilter(), today=TODAY))
    assert len(rows) == 1  # header only


def test_the_queries_do_not_grow_with_the_cases(session: Session, district: District, people: People,
                                                driver: Driver) -> None:
    import sqlalchemy as sa

    for i in range(12):
        c = driver.open(name=f"托幼点{i}", now=NOW)
        driver.do(c, "start_review")
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        ledger_bytes(session, district, user=people.reviewer, flt=LedgerFilter(), today=TODAY)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 3
