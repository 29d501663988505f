"""Prepared statements (the transition's hot path) write and read exactly what SQLAlchemy would."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from cases.models import CaseEvent, Notice
from cases.statements import Prepared
from tests.conftest import Driver

EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
NOTICE = Notice.__table__  # type: ignore[attr-defined]
AT = datetime(2026, 11, 2, 2, 0, 7, 123456, tzinfo=UTC)


def _event(case_id: int, seq: int) -> dict[str, object]:
    """An event row with every kind of value: text with CJK and quotes, JSON, a timestamp (reason left out)."""
    return {"case_id": case_id, "seq": seq, "at": AT, "actor_id": None, "actor": "张三", "role": "inspector",
            "trigger": "note", "from_state": "a", "to_state": "b", "evidence": ["h1", "h2"],
            "data": {"说明": "含\"引号\"与\\反斜杠", "n": 1, "list": [1, 2.5, None], "deep": {"x": True}},
            "prev_hash": "0" * 64, "hash": f"{seq:064d}"}


def _stored(session: Session, event_id: int) -> tuple[object, ...]:
    """The row as the database holds it, read through the driver (no type conversion)."""
    conn = session.connection()
    cur = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cur.execute('SELECT case_id, at, actor_id, actor, role, "trigger", reason, evidence, notice_number, data,'
                f" prev_hash FROM case_event WHERE id = {int(event_id)}")
    row = tuple(cur.fetchone())
    cur.close()
    return row


def test_an_insert_stores_the_same_bytes_as_sqlalchemy(session: Session, driver: Driver) -> None:
    case = driver.open()
    conn = session.connection()
    via_core = conn.execute(EVENT.insert().returning(EVENT.c.id), _event(case.id, 90)).scalar_one()
    via_prepared = Prepared(EVENT.insert().returning(EVENT.c.id)).scalar(conn, _event(case.id, 91))
    assert via_prepared != via_core
    assert _stored(session, via_prepared) == _stored(session, via_core)  # reason filled by its default ('')
    session.rollback()


def test_a_select_reads_the_same_values_as_sqlalchemy(session: Session, driver: Driver) -> None:
    case = driver.open()
    conn = session.connection()
    Prepared(EVENT.insert()).rowcount(conn, _event(case.id, 90))
    query = sa.select(EVENT).where(EVENT.c.case_id == sa.bindparam("case_id"), EVENT.c.seq == 90)
    want = dict(conn.execute(query, {"case_id": case.id}).mappings().one())
    got = Prepared(query).mappings(conn, {"case_id": case.id})
    assert got == [want]
    assert got[0]["at"] == AT and got[0]["data"]["说明"] == "含\"引号\"与\\反斜杠"
    session.rollback()


def test_driver_errors_are_sqlalchemy_errors_and_leave_the_transaction_usable_for_rollback(
        session: Session, driver: Driver) -> None:
    case = driver.open()
    conn = session.connection()
    insert = Prepared(EVENT.insert().returning(EVENT.c.id))
    insert.scalar(conn, _event(case.id, 90))
    with pytest.raises(sa.exc.IntegrityError):  # (case_id, seq) is unique
        insert.scalar(conn, _event(case.id, 90))
    session.rollback()
    assert session.connection().execute(sa.select(sa.func.count()).select_from(EVENT)
                                        .where(EVENT.c.seq == 90)).scalar() == 0


def test_an_update_reports_the_rows_it_touched(session: Session, driver: Driver) -> None:
    from cases.models import Case

    case = driver.open()
    table = Case.__table__  # type: ignore[attr-defined]
    update = Prepared(table.update().where(table.c.id == sa.bindparam("_id"),
                                           table.c.version == sa.bindparam("_version")))
    conn = session.connection()
    assert update.rowcount(conn, {"target": "x", "_id": case.id, "_version": case.version + 5}) == 0
    assert update.rowcount(conn, {"target": "普惠园", "_id": case.id, "_version": case.version}) == 1
    assert conn.execute(sa.select(table.c.target).where(table.c.id == case.id)).scalar() == "普惠园"
    session.rollback()


def test_a_date_column_comes_back_as_a_date(session: Session, driver: Driver) -> None:
    case = driver.open()
    from cases.models import Point

    table = Point.__table__  # type: ignore[attr-defined]
    rows = Prepared(sa.select(table.c.registered_on, table.c.created_at)).rows(session.connection())
    assert rows and isinstance(rows[0][0], date) and isinstance(rows[0][1], datetime)
    assert case.id is not None
    session.rollback()


def test_many_inserts_every_row_and_counts_only_the_new_ones(session: Session, driver: Driver) -> None:
    from cases import notify

    case = driver.open()
    people = notify.people(session, roles=["reviewer", "inspector"], township_id=driver.people.town.id)
    assert {p.role for p in people} == {"reviewer", "inspector"}
    assert driver.people.other_inspector.id not in {p.id for p in people}  # another township's inspector
    first = notify.enqueue(session, users=people, subject="主题", body="正文", key=f"test:{case.id}", case_id=case.id)
    again = notify.enqueue(session, users=people, subject="主题", body="正文", key=f"test:{case.id}", case_id=case.id)
    assert first == len(people) + sum(1 for p in people if p.email) and again == 0
    session.rollback()


def test_literals_in_a_statement_run_on_the_driver_cursor(session: Session, driver: Driver) -> None:
    """A literal in the SQL (`last + 1`, `seq = 90`) is not a default SQLAlchemy must fill in: the statement
    runs on the driver's cursor (SQLAlchemy's execution events do not see it) and gives what Core gives."""
    from cases.numbering import next_seq

    case = driver.open()
    conn = session.connection()
    Prepared(EVENT.insert()).rowcount(conn, _event(case.id, 90))
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    engine = conn.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        query = sa.select(EVENT.c.seq).where(EVENT.c.case_id == sa.bindparam("case_id"), EVENT.c.seq == 90)
        assert Prepared(query).rows(conn, {"case_id": case.id}) == [(90,)]
        numbers = [next_seq(session, district="t", kind="k", series="", year=2026) for _ in range(3)]
        assert numbers == [1, 2, 3]  # the counter's upsert adds its literal 1 each time
        assert seen == []
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    session.rollback()
