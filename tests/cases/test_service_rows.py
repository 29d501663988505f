"""What the leaner transaction writes: the notice carries its event from the start, the opened case is the
row as written, and the point a notice names is read afresh (with the locked case) in every transaction."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cases.models import Case, CaseEvent, Notice, Point
from tests.conftest import Driver

CASE, EVENT, NOTICE, POINT = (m.__table__ for m in (Case, CaseEvent, Notice, Point))  # type: ignore[attr-defined]


def test_a_notice_row_is_written_with_the_event_that_issued_it(engine: Engine, driver: Driver) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    result = driver.do(case, "order_rectification", failed=("P02",))
    assert len(result.notices) == 1
    notice = result.notices[0]
    assert notice.event_id == result.event.id and notice.id is not None
    with engine.connect() as conn:
        row = conn.execute(sa.select(NOTICE).where(NOTICE.c.id == notice.id)).mappings().one()
        event = conn.execute(sa.select(EVENT).where(EVENT.c.id == row["event_id"])).mappings().one()
    assert event["trigger"] == "order_rectification" and event["notice_number"] == row["number"] == notice.number
    assert row["data"]["point"]["name"] == "阳光托幼点"


def test_the_opened_case_is_the_row_as_written(engine: Engine, driver: Driver) -> None:
    case = driver.open(name="新苗托幼点")
    with engine.connect() as conn:
        row = conn.execute(sa.select(CASE).where(CASE.c.id == case.id)).mappings().one()
    for column, value in row.items():
        assert getattr(case, column) == value, column
    assert (case.version, case.last_seq, case.state) == (2, 1, "registered")


def test_each_transaction_reads_the_point_afresh(engine: Engine, driver: Driver) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    with engine.begin() as conn:
        conn.execute(POINT.update().where(POINT.c.id == case.point_id).values(name="改名后的托幼点"))
    result = driver.do(case, "order_rectification", failed=("P02",))
    assert result.notices[0].data["point"]["name"] == "改名后的托幼点"
