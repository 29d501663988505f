"""Deadlines that enforce themselves, on a controlled clock: reminders, overdue marking, the ladder."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from cases import audit
from cases.config import District
from scheduler.sweeps import sweep
from tests.conftest import Driver, People
from tests.scheduler.conftest import (
    at,
    days,
    escalations,
    events,
    fresh,
    messages,
    notices,
    rectifying_case,
    reminders,
)

NATIONAL_DAY_DEADLINE = date(2026, 9, 30)  # Wednesday; Oct 1–7 off, Sat Oct 10 a make-up working day


def test_calendar_facts_the_scenarios_rely_on(district: District) -> None:
    cal = district.work_calendar()
    assert not cal.is_workday(date(2026, 9, 25))  # 中秋节 (Friday)
    assert not cal.is_workday(date(2026, 9, 27))  # an ordinary Sunday
    assert cal.is_workday(date(2026, 9, 20))  # Sunday, 调休 working day
    assert not any(cal.is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert cal.is_workday(date(2026, 10, 10))  # Saturday, 调休 working day


def test_a_rotting_case_climbs_the_ladder_across_national_day(engine: sa.Engine, district: District, driver: Driver,
                                                              people: People) -> None:
    case = rectifying_case(driver, NATIONAL_DAY_DEADLINE)
    seen: dict[str, date] = {}
    for day in days(date(2026, 9, 21), date(2026, 10, 23)):
        report = sweep(engine, district, at(day), deliver=False)
        c = fresh(engine, case.id)  # type: ignore[arg-type]
        if report.expired:
            seen["expired"] = day
        for lv in (1, 2, 3):
            if report.escalated.get(lv):
                assert f"level{lv}" not in seen
                seen[f"level{lv}"] = day
        for r in reminders(engine, case.id):
            seen.setdefault(f"remind{r.days_before}", r.sent_on)
        assert c.state in ("rectifying", "overdue")
    assert seen == {
        "remind5": date(2026, 9, 22),  # Tue: 23, 24, 28, 29, 30 remain (25th is 中秋, 26/27 weekend)
        "remind3": date(2026, 9, 24),  # Thu: 28, 29, 30
        "remind1": date(2026, 9, 29),
        "expired": date(2026, 10, 1),  # the day after the deadline (a holiday: the guard counts calendar days)
        "level1": date(2026, 10, 8),  # first working day after the deadline, after the holiday
        "level2": date(2026, 10, 13),  # 8, 9, 10 (Sat, 调休), 12, 13
        "level3": date(2026, 10, 20),  # 14, 15, 16, 19, 20
    }
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.state, c.escalation_level, c.deadline) == ("overdue", 3, NATIONAL_DAY_DEADLINE)
    esc = escalations(engine, case.id)
    assert [(e.level, e.done_on, e.overdue_days) for e in esc] == [
        (1, date(2026, 10, 8), 1), (2, date(2026, 10, 13), 5), (3, date(2026, 10, 20), 10)]
    ns = notices(engine, case.id)  # type: ignore[arg-type]
    assert [n.kind for n in ns] == ["supervision_notice", "supervision_notice", "listed_supervision"]
    # DESIGN §3: level 1 and 2 from the bureau to the township's government (level 2 copied to the district
    # government's supervision office); 挂牌督办 from the committee to the township's government, copied to the bureau
    town_unit, info = district.townships[0].unit, district.district
    assert [n.addressee for n in ns] == [town_unit] * 3
    assert [n.issuer for n in ns] == [info.bureau, info.bureau, info.committee]
    assert [n.data["cc"] for n in ns] == [[], [info.supervision_office], [info.bureau]]
    assert [n.data["contact"] for n in ns] == [info.contact, info.contact, info.committee_contact]
    assert all("系统" not in n.data["contact"] and not n.data["actor"] for n in ns)
    # the reply is asked for a date after issue: issue + the rung's working days, never the missed deadline
    assert [n.data["reply_by"] for n in ns] == ["2026-10-14", "2026-10-20", "2026-11-03"]  # 9, 10 (调休), 12, 13, 14
    assert all(date.fromisoformat(n.data["reply_by"]) > n.issued_on for n in ns)
    assert [[p["level"] for p in n.data["previous_levels"]] for n in ns] == [[], [1], [1, 2]]
    assert [n.data["level"] for n in ns] == [1, 2, 3]
    assert [n.data["level_zh"] for n in ns] == ["镇街督办", "区教育局督办", "挂牌督办"]
    assert {n.data["missed_deadline"] for n in ns} == {"2026-09-30"}
    assert {n.data["missed_deadline_kind"] for n in ns} == {"rectification"}
    assert [n.data["overdue_days"] for n in ns] == [1, 5, 10]
    assert ns[0].data["next_level_on"] == "2026-10-13" and ns[1].data["next_level_on"] == "2026-10-20"
    assert [e.notice_number for e in esc] == [n.number for n in ns]
    assert all(n.event_id is not None for n in ns)
    evs = events(engine, case.id, "escalate")  # type: ignore[arg-type]
    assert [(e.from_state, e.to_state, e.data["level"], e.notice_number) for e in evs] == [
        ("overdue", "overdue", lv, n.number) for lv, n in zip((1, 2, 3), ns, strict=True)]
    assert [e.actor for e in evs] == ["system"] * 3
    with Session(engine) as s:
        assert audit.verify(s) == []
    # who heard about it
    inbox = {(m.dedupe_key.split(":")[4], m.recipient) for m in messages(engine, "escalate:", "inbox")}
    assert inbox == {("1", people.lead.name), ("2", people.reviewer.name), ("2", people.reviewer2.name),
                     ("3", people.committee.name)}
    mails = {(m.dedupe_key.split(":")[4], m.recipient) for m in messages(engine, "escalate:", "mail")}
    assert mails == {("1", people.lead.email), ("2", people.reviewer.email), ("3", people.committee.email)}
    reminded = {(m.dedupe_key.split(":")[4], m.recipient) for m in messages(engine, "remind:", "inbox")}
    assert reminded == {(n, u) for n in ("5", "3", "1") for u in (people.inspector.name, people.inspector2.name)}
    lead_msg = next(m for m in messages(engine, "escalate:", "inbox") if m.recipient == people.lead.name)
    assert "镇街督办" in lead_msg.subject and "阳光托幼点" in lead_msg.body and "2026年9月30日" in lead_msg.body
    # no 督办反馈 came: each notice's missing reply was reported upward once (level 3's is due by 11-30)
    sweep(engine, district, at(date(2026, 11, 30)), deliver=False)
    assert len({m.dedupe_key.split(":")[1] for m in messages(engine, "reply-missing-up:")}) == 3
    # nothing more, however often it runs
    before = (len(escalations(engine)), len(messages(engine)), len(events(engine, case.id)))  # type: ignore[arg-type]
    for day in (date(2026, 10, 23), date(2026, 11, 30), date(2026, 12, 1)):
        sweep(engine, district, at(day), deliver=False)
    assert (len(escalations(engine)), len(messages(engine)), len(events(engine, case.id))) == before  # type: ignore[arg-type]


def test_catch_up_after_days_down_takes_only_the_highest_due_rung(engine: sa.Engine, district: District,
                                                                  driver: Driver) -> None:
    deadline = date(2026, 11, 6)  # Friday
    case = rectifying_case(driver, deadline)
    first_run = date(2026, 11, 24)  # 12 working days later; the scheduler was down all along
    assert district.work_calendar().between(deadline, first_run) == 12
    report = sweep(engine, district, at(first_run), deliver=False)
    assert report.expired == 1 and dict(report.escalated) == {3: 1}
    assert report.reminded == 0  # the stale reminders are not sent in a burst
    assert reminders(engine, case.id) == []
    # levels 1 and 2 are recorded as passed (no notice, no message); only 挂牌督办 is issued
    assert [(e.level, e.overdue_days, e.done_on, e.passed, bool(e.notice_number))
            for e in escalations(engine, case.id)] == [
        (3, 12, first_run, False, True), (1, 12, first_run, True, False), (2, 12, first_run, True, False)]
    ns = notices(engine, case.id)  # type: ignore[arg-type]
    assert [n.data["level"] for n in ns] == [3]
    [ev] = events(engine, case.id, "escalate")  # type: ignore[arg-type]
    assert ev.data["passed_levels"] == [1, 2] and ev.notice_number == ns[0].number
    sent = messages(engine, f"escalate:{case.id}:")
    assert sent and all(":rectification:3" in m.dedupe_key for m in sent)
    assert fresh(engine, case.id).escalation_level == 3  # type: ignore[arg-type]
    again = sweep(engine, district, at(first_run, 15), deliver=False)
    assert (again.expired, sum(again.escalated.values()), again.reminded) == (0, 0, 0)
    assert len(escalations(engine)) == 3


def test_only_the_reminder_due_today_is_sent(engine: sa.Engine, district: District, driver: Driver,
                                             people: People) -> None:
    deadline = date(2026, 11, 20)  # Friday
    case = rectifying_case(driver, deadline)
    # down from 6 working days before until 2 before: neither the 5- nor the 3-day reminder comes late
    assert sweep(engine, district, at(date(2026, 11, 18)), deliver=False).reminded == 0  # 2 days left
    assert reminders(engine) == []
    report = sweep(engine, district, at(date(2026, 11, 19)), deliver=False)  # 1 day left
    assert report.reminded == 1
    assert [(r.days_before, r.sent_on) for r in reminders(engine, case.id)] == [(1, date(2026, 11, 19))]
    msgs = messages(engine, "remind:")
    assert {(m.channel, m.recipient) for m in msgs} == {
        ("inbox", people.inspector.name), ("inbox", people.inspector2.name), ("mail", people.inspector.email)}
    body = msgs[0].body
    assert "整改期限为2026年11月20日（星期五）" in body and "还剩1个工作日" in body and "申请复查" in body
    assert sweep(engine, district, at(date(2026, 11, 19), 16), deliver=False).reminded == 0


def test_reminders_skip_weekends_and_the_day_the_deadline_was_set(engine: sa.Engine, district: District,
                                                                  driver: Driver) -> None:
    deadline = date(2026, 11, 23)  # Monday: 3 working days before is Wed 18th (Thu, Fri, Mon remain)
    case = rectifying_case(driver, deadline)
    sent = {}
    for day in days(date(2026, 11, 12), deadline):
        sweep(engine, district, at(day), deliver=False)
        for r in reminders(engine, case.id):
            sent.setdefault(r.days_before, r.sent_on)
    assert sent == {5: date(2026, 11, 16), 3: date(2026, 11, 18), 1: date(2026, 11, 20)}
    # an approval deadline of 5 days is 5 days away on the day it is set: no reminder that day
    result = driver.do(case, "request_reinspection", now=at(date(2026, 11, 23)))
    driver.do(result.case.id, "propose_filing", now=at(date(2026, 11, 23), 11))
    assert sweep(engine, district, at(date(2026, 11, 23), 12), deliver=False).reminded == 0


def test_a_met_deadline_cancels_what_is_pending(engine: sa.Engine, district: District, driver: Driver,
                                                people: People) -> None:
    deadline = date(2026, 11, 20)
    case = rectifying_case(driver, deadline)
    sweep(engine, district, at(date(2026, 11, 19)), deliver=False)  # the 1-day reminder
    assert len(reminders(engine)) == 1
    # the operator reports the work done before the deadline: the rectification deadline is met
    driver.do(case, "request_reinspection", now=at(date(2026, 11, 20), 9))
    for day in days(date(2026, 11, 21), date(2026, 12, 4)):  # past the old deadline, up to the new one
        report = sweep(engine, district, at(day), deliver=False)
        assert (report.expired, sum(report.escalated.values())) == (0, 0)
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.state, c.deadline_kind, c.deadline) == ("reinspecting", "reinspection", date(2026, 12, 4))
    assert escalations(engine) == []
    assert {r.kind for r in reminders(engine)} == {"rectification", "reinspection"}
    assert [r.days_before for r in reminders(engine) if r.kind == "rectification"] == [1]


def test_an_escalated_case_that_moves_on_climbs_no_further(engine: sa.Engine, district: District,
                                                           driver: Driver) -> None:
    deadline = date(2026, 11, 6)
    case = rectifying_case(driver, deadline)
    sweep(engine, district, at(date(2026, 11, 9)), deliver=False)  # expire + level 1
    assert [e.level for e in escalations(engine, case.id)] == [1]
    driver.do(case, "request_reinspection", now=at(date(2026, 11, 10)))
    driver.do(case, "propose_filing", now=at(date(2026, 11, 10), 11))
    driver.do(case, "approve", actor=driver.people.reviewer, now=at(date(2026, 11, 11)))
    for day in days(date(2026, 11, 12), date(2026, 11, 30)):
        sweep(engine, district, at(day), deliver=False)
    assert [e.level for e in escalations(engine, case.id)] == [1]
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.state, c.escalation_level, c.deadline) == ("filed", 0, None)


def test_a_late_approval_escalates_to_the_committee_once(engine: sa.Engine, district: District, driver: Driver,
                                                         people: People) -> None:
    proposed = date(2026, 11, 2)  # Monday
    case = driver.open(now=at(proposed, 8))
    driver.do(case, "start_review", now=at(proposed, 9))
    driver.do(case, "propose_filing", now=at(proposed, 10))
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.deadline, c.deadline_kind) == (date(2026, 11, 9), "approval")
    assert sweep(engine, district, at(date(2026, 11, 9)), deliver=False).approvals_escalated == 0  # still on time
    report = sweep(engine, district, at(date(2026, 11, 10)), deliver=False)
    assert report.approvals_escalated == 1 and sum(report.escalated.values()) == 0
    [esc] = escalations(engine, case.id)
    assert (esc.kind, esc.level, esc.overdue_days) == ("approval", 3, 1)
    [n] = notices(engine, case.id)  # type: ignore[arg-type]
    # a late approval is supervised by the committee, addressed to the bureau, with a reply date after issue
    assert (n.kind, n.issuer, n.addressee, n.data["missed_deadline_kind"]) == (
        "supervision_notice", district.district.committee, district.district.bureau, "approval")
    assert n.data["reply_by"] == "2026-11-13" and n.data["contact"] == district.district.committee_contact
    assert {m.recipient for m in messages(engine, "escalate:", "inbox")} == {people.committee.name}
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.state, c.escalation_level) == ("filing_proposed", 3)
    for day in (date(2026, 11, 11), date(2026, 11, 20)):
        assert sweep(engine, district, at(day), deliver=False).approvals_escalated == 0
    # the bureau decides at last: the approval deadline is gone, nothing further
    driver.do(case, "approve", actor=people.reviewer, now=at(date(2026, 11, 23)))
    assert fresh(engine, case.id).state == "filed"  # type: ignore[arg-type]


def test_review_and_cessation_deadlines_climb_the_ladder_too(engine: sa.Engine, district: District,
                                                             driver: Driver) -> None:
    start = date(2026, 11, 2)
    case = driver.open(now=at(start, 8))
    driver.do(case, "start_review", now=at(start, 9))
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert c.deadline_kind == "review"
    first = district.work_calendar().add(c.deadline, 1)  # type: ignore[arg-type]
    report = sweep(engine, district, at(first - timedelta(days=1)), deliver=False)
    assert sum(report.escalated.values()) == 0
    report = sweep(engine, district, at(first), deliver=False)
    assert dict(report.escalated) == {1: 1}
    assert fresh(engine, case.id).state == "under_review"  # type: ignore[arg-type]  # never a state change
    # a later deadline of the same case starts its own ladder
    driver.do(case, "propose_refusal", reason="场地不符合条件", now=at(first, 11))
    driver.do(case, "approve", actor=driver.people.reviewer, now=at(first, 12))
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.state, c.deadline_kind, c.escalation_level) == ("refused", "cessation", 0)
    late = district.work_calendar().add(c.deadline, 5)  # type: ignore[arg-type]
    report = sweep(engine, district, at(late), deliver=False)
    assert dict(report.escalated) == {2: 1}  # caught up at once: level 1 passed, level 2 issued
    assert sorted((e.kind, e.level, e.passed) for e in escalations(engine, case.id)) == [
        ("cessation", 1, True), ("cessation", 2, False), ("review", 1, False)]


def test_a_restored_deadline_does_not_climb_the_same_rungs_again(engine: sa.Engine, district: District,
                                                                 driver: Driver, people: People) -> None:
    from cases.service import claimed_level

    deadline = date(2026, 11, 6)
    case = rectifying_case(driver, deadline)
    sweep(engine, district, at(date(2026, 11, 13)), deliver=False)  # 5 working days: levels 1 and 2
    assert sorted(e.level for e in escalations(engine, case.id)) == [1, 2]  # 1 passed, 2 issued
    driver.do(case, "propose_enforcement", reason="逾期拒不整改", now=at(date(2026, 11, 16)))
    driver.do(case, "send_back", actor=people.reviewer, reason="请先复查", now=at(date(2026, 11, 16), 11))
    c = fresh(engine, case.id)  # type: ignore[arg-type]
    assert (c.state, c.deadline, c.deadline_kind) == ("overdue", deadline, "rectification")
    assert c.escalation_level == 2  # the restored deadline keeps the rung it had reached
    with Session(engine) as s:
        assert claimed_level(s, case_id=case.id, deadline=deadline, kind="rectification") == 2  # type: ignore[arg-type]
    for day in days(date(2026, 11, 16), date(2026, 11, 19)):
        report = sweep(engine, district, at(day, 12), deliver=False)
        assert sum(report.escalated.values()) == 0
    report = sweep(engine, district, at(date(2026, 11, 20)), deliver=False)  # 10 working days: level 3
    assert dict(report.escalated) == {3: 1}
    assert sorted(e.level for e in escalations(engine, case.id)) == [1, 2, 3]
