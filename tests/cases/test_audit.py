"""Every state-bearing row is bound to the chain, and the district seal catches deletions and rewinds.

Each test tampers with one kind of row directly in the database (as someone with SQL access
would), on SQLite and PostgreSQL, and checks that `audit.verify` names the case and what differs.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session, select

from cases import audit, seal
from cases.models import AuditSeal, Case, CaseEvent, Inspection, Notice, Point
from tests.conftest import Driver

CASE = Case.__table__  # type: ignore[attr-defined]
EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
INSPECTION = Inspection.__table__  # type: ignore[attr-defined]
NOTICE = Notice.__table__  # type: ignore[attr-defined]
POINT = Point.__table__  # type: ignore[attr-defined]
SEAL = AuditSeal.__table__  # type: ignore[attr-defined]


def _rectifying(driver: Driver) -> int:
    """A case with an inspection and a notice: open → review → rectification ordered."""
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "order_rectification", failed=("F01",), notes={"F01": "灭火器过期"})
    assert case.id is not None
    return case.id


def _tamper(engine: sa.Engine, stmt: sa.Executable) -> None:
    with engine.begin() as conn:
        assert conn.execute(stmt).rowcount != 0  # type: ignore[attr-defined]


def _breaks(session: Session, case_id: int | None = None) -> list[audit.Break]:
    session.expire_all()
    return audit.verify(session, case_id)


def test_intact_records_verify(driver: Driver, session: Session) -> None:
    cid = _rectifying(driver)
    driver.do(cid, "request_reinspection")
    driver.do(cid, "fail_reinspection", failed=("F01",))
    assert _breaks(session) == []
    ev = session.exec(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq.desc())).first()  # type: ignore[attr-defined]
    assert ev is not None and ev.data["snap"]["state"] == "rectifying" and ev.data["snap"]["round"] == 2
    assert "inspection" in ev.data and "notice_hash" in ev.data


def test_changed_case_state_deadline_round_level(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    other = _rectifying(driver)
    for column, value, zh in (("state", "banned", "状态"), ("deadline", date(2030, 1, 1), "期限"),
                              ("round", 7, "整改轮次"), ("escalation_level", 3, "督办级别")):
        original = session.connection().execute(sa.select(CASE.c[column]).where(CASE.c.id == cid)).scalar()
        session.rollback()
        _tamper(engine, CASE.update().where(CASE.c.id == cid).values({column: value}))
        breaks = _breaks(session)
        assert [b.case_id for b in breaks] == [cid], column
        assert zh in breaks[0].problem_zh and column in breaks[0].problem_en
        _tamper(engine, CASE.update().where(CASE.c.id == cid).values({column: original}))
        assert _breaks(session) == []
    assert _breaks(session, other) == []


def test_edited_or_deleted_inspection(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    insp = session.exec(select(Inspection).where(Inspection.case_id == cid)).one()
    _tamper(engine, INSPECTION.update().where(INSPECTION.c.id == insp.id).values(
        results={**insp.results, "F01": "pass"}))
    breaks = _breaks(session)
    assert [(b.case_id, b.seq) for b in breaks] == [(cid, 3)] and "检查记录" in breaks[0].problem_zh
    _tamper(engine, INSPECTION.delete().where(INSPECTION.c.id == insp.id))
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and "被删除" in breaks[0].problem_zh


def test_inspection_slipped_in(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    insp = session.exec(select(Inspection).where(Inspection.case_id == cid)).one()
    _tamper(engine, INSPECTION.insert().values(case_id=cid, inspector_id=insp.inspector_id, trigger="fail_reinspection",
                                               round=1, results={}, notes={}, at=insp.at))
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and "不属于审计链" in breaks[0].problem_zh


def test_edited_or_deleted_notice(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    notice = session.exec(select(Notice).where(Notice.case_id == cid)).one()
    _tamper(engine, NOTICE.update().where(NOTICE.c.id == notice.id).values(
        data={**notice.data, "deadline": "2031-01-01"}))
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and notice.number in breaks[0].problem_zh
    _tamper(engine, NOTICE.update().where(NOTICE.c.id == notice.id).values(data=notice.data, addressee="别人"))
    assert [b.case_id for b in _breaks(session)] == [cid]
    _tamper(engine, NOTICE.delete().where(NOTICE.c.id == notice.id))
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and "被删除" in breaks[0].problem_zh


def test_rendering_a_notice_keeps_it_bound(driver: Driver, session: Session) -> None:
    """Rendering fills in the derived columns (content hash, code, file hash): not a change of the notice."""
    cid = _rectifying(driver)
    notice = session.exec(select(Notice).where(Notice.case_id == cid)).one()
    notice.content_hash, notice.verify_code, notice.pdf_sha256 = "a" * 64, "ABCDE12345", "b" * 64
    session.add(notice)
    session.commit()
    assert _breaks(session) == []


def test_edited_point(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    point_id = session.get(Case, cid).point_id  # type: ignore[union-attr]
    _tamper(engine, POINT.update().where(POINT.c.id == point_id).values(operator="李四"))
    breaks = _breaks(session)
    assert [(b.case_id, b.seq) for b in breaks] == [(cid, 1)] and "托幼点" in breaks[0].problem_zh


def _rewind(engine: sa.Engine, cid: int) -> None:
    """Delete the case's last event and rewind the head to the one before: the chain alone looks intact."""
    with engine.begin() as conn:
        last = conn.execute(sa.select(EVENT.c.seq).where(EVENT.c.case_id == cid).order_by(EVENT.c.seq.desc())).scalar()
        prev = conn.execute(sa.select(EVENT.c.hash, EVENT.c.data, EVENT.c.to_state).where(
            EVENT.c.case_id == cid, EVENT.c.seq == last - 1)).one()
        conn.execute(NOTICE.update().where(NOTICE.c.case_id == cid).values(event_id=None))
        conn.execute(NOTICE.delete().where(NOTICE.c.case_id == cid))
        conn.execute(INSPECTION.delete().where(INSPECTION.c.case_id == cid))
        conn.execute(EVENT.delete().where(EVENT.c.case_id == cid, EVENT.c.seq == last))
        snap = prev.data["snap"]
        conn.execute(CASE.update().where(CASE.c.id == cid).values(
            last_seq=last - 1, last_hash=prev.hash, state=snap["state"], round=snap["round"],
            deadline=date.fromisoformat(snap["deadline"]) if snap["deadline"] else None,
            deadline_kind=snap["deadline_kind"], escalation_level=snap["escalation_level"]))


def test_rewound_chain_is_caught_by_the_seal(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    other = _rectifying(driver)
    first = seal.seal(session)
    assert first is not None and first.cases == 2 and first.anchors == 2
    _rewind(engine, cid)
    session.expire_all()
    events = list(session.exec(select(CaseEvent).where(CaseEvent.case_id == cid).order_by(CaseEvent.seq)).all())  # type: ignore[arg-type]
    case = session.get(Case, cid)
    assert audit.case_breaks(events, case, audit.related(session, [case], events)) == []  # the chain cannot tell
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and "回退" in breaks[0].problem_zh
    assert _breaks(session, other) == []
    # a later seal does not bless the rewind
    driver.do(other, "request_reinspection")
    second = seal.seal(session)
    assert second is not None and second.seq == 2 and second.anchors == 1
    assert [b.case_id for b in _breaks(session)] == [cid]


def test_deleted_case_is_caught_by_the_seal(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    keep = _rectifying(driver)
    seal.seal(session)
    with engine.begin() as conn:
        for table in ("message", "escalation", "reminder", "evidence"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE case_id = :c"), {"c": cid})
        conn.execute(NOTICE.delete().where(NOTICE.c.case_id == cid))
        conn.execute(INSPECTION.delete().where(INSPECTION.c.case_id == cid))
        conn.execute(EVENT.delete().where(EVENT.c.case_id == cid))
        conn.execute(CASE.delete().where(CASE.c.id == cid))
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and "删除" in breaks[0].problem_zh
    assert _breaks(session, keep) == []


def test_seal_only_when_heads_moved_and_chained(driver: Driver, session: Session, engine: sa.Engine) -> None:
    cid = _rectifying(driver)
    first = seal.seal(session)
    assert first is not None
    assert seal.seal(session) == first  # nothing moved: no new seal
    driver.do(cid, "request_reinspection")
    second = seal.seal(session)
    assert second is not None and second.seq == 2 and second.hash != first.hash
    assert seal.find(session, second.fingerprint) == second
    assert _breaks(session) == []
    _tamper(engine, SEAL.update().where(SEAL.c.seq == 1).values(events=99))
    breaks = _breaks(session)
    assert breaks and breaks[0].case_id == 0 and "封存" in breaks[0].problem_zh


def test_escalation_binds_its_level(driver: Driver, session: Session, engine: sa.Engine) -> None:
    """The scheduler's rung is an event with the level it set: changing the level behind it shows."""
    from datetime import UTC, datetime

    from cases.supervision import Outcome, escalate

    cid = _rectifying(driver)
    row = session.get(Case, cid)
    assert row is not None and row.deadline is not None
    deadline = row.deadline
    session.rollback()
    driver.do(cid, "expire", actor=driver.people.system, now=datetime(deadline.year, deadline.month, deadline.day,
                                                                        20, tzinfo=UTC))
    out = escalate(session=session, district=driver.district, case_id=cid, deadline=deadline, kind="rectification",
                   level=1, now=datetime(2027, 6, 1, 2, tzinfo=UTC))
    assert out is Outcome.DONE
    assert _breaks(session) == []
    _tamper(engine, CASE.update().where(CASE.c.id == cid).values(escalation_level=0))
    breaks = _breaks(session)
    assert [b.case_id for b in breaks] == [cid] and "督办级别" in breaks[0].problem_zh


def test_each_rendering_is_its_own_event(driver: Driver, session: Session, engine: sa.Engine) -> None:
    from cases.models import NoticeRendering
    from cases.notices.verify import record_rendering

    cid = _rectifying(driver)
    notice = session.exec(select(Notice).where(Notice.case_id == cid)).one()
    before = session.get(Case, cid).last_seq  # type: ignore[union-attr]
    first = record_rendering(session, notice, sha256="a" * 64)
    record_rendering(session, notice, sha256="a" * 64)  # the same file again: no second event
    record_rendering(session, notice, sha256="b" * 64)
    session.commit()
    events = session.exec(select(CaseEvent).where(CaseEvent.case_id == cid, CaseEvent.trigger == "render")
                          .order_by(CaseEvent.seq)).all()  # type: ignore[arg-type]
    assert [e.data["sha256"] for e in events] == ["a" * 64, "b" * 64]
    assert [e.seq for e in events] == [before + 1, before + 2] and events[0].id == first.event_id
    assert events[0].from_state == events[0].to_state == "rectifying"
    assert _breaks(session) == []
    rendering = NoticeRendering.__table__  # type: ignore[attr-defined]
    _tamper(engine, rendering.update().where(rendering.c.sha256 == "a" * 64).values(sha256="c" * 64))
    breaks = _breaks(session)
    assert [(b.case_id, b.seq) for b in breaks] == [(cid, before + 1)] and notice.number in breaks[0].problem_zh


def test_the_sweep_seals_at_most_hourly(driver: Driver, session: Session, engine: sa.Engine) -> None:
    from scheduler.sweeps import sweep

    cid = _rectifying(driver)
    sweep(engine, driver.district, deliver=False)
    first = seal.latest(session)
    assert first is not None and first.cases == 1
    driver.do(cid, "request_reinspection")
    sweep(engine, driver.district, deliver=False)
    assert seal.latest(session) == first  # within the hour: no new seal, the moved head waits
    _tamper(engine, SEAL.update().where(SEAL.c.seq == 1).values(
        sealed_at=first.sealed_at.replace(year=first.sealed_at.year - 1), hash=first.hash))
    session.expire_all()
    sweep(engine, driver.district, deliver=False)
    second = seal.latest(session)
    assert second is not None and second.seq == 2 and second.anchors == 1


def test_rendering_content_kept_on_both_databases(driver: Driver, session: Session) -> None:
    """The drawn content of a rendering is stored (compressed) and read back the same, SQLite and PostgreSQL."""
    import hashlib

    import weasyprint

    from cases.notices.fingerprint import Content
    from cases.notices.verify import record_rendering, verify_bytes

    cid = _rectifying(driver)
    notice = session.exec(select(Notice).where(Notice.case_id == cid)).one()
    notice.verify_code = "ABCDE12345"
    session.add(notice)
    data = weasyprint.HTML(string=f"<p>{notice.number} 验证码 ABCDE-12345</p>").write_pdf()
    row = record_rendering(session, notice, sha256=hashlib.sha256(data).hexdigest(), data=data)
    session.commit()
    session.expire_all()
    assert row.content is not None and len(row.fingerprint) == 64
    assert Content.unpack(row.content).fingerprint == row.fingerprint
    assert verify_bytes(session, data).exact
    assert _breaks(session) == []
