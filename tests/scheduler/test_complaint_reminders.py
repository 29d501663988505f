"""12345 replies coming due: the township's inspectors and lead are reminded at the district's offsets, in
working days, each reminder once (threads and scheduler processes at once), never after the reply; the
bureau's daily digest lists the open and late 工单."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from app.web.views import message_kind
from cases.complaint_reminders import parse_reply_reminder_key, reply_reminder_key
from cases.complaints import Added, add_complaint, reply_complaint
from cases.config import District
from cases.models import Message, Township, User, utcnow
from cases.supervision import parse_reminder_key
from scheduler.delivery import deliver_pending
from scheduler.sweeps import SweepReport, sweep
from tests.conftest import People, at_once
from tests.scheduler.conftest import Inbox, at, days, messages, with_mail

REPO = Path(__file__).resolve().parents[2]
PREFIX = "remind:complaint:"
# Tuesday 29 Sep 2026 + 5 working days over 国庆 (1–7 Oct off, Saturday 10 Oct a make-up workday) = Monday 12 Oct
RECEIVED = date(2026, 9, 29)
REPLY_DUE = date(2026, 10, 12)
REMINDED_ON = {5: date(2026, 9, 29), 3: date(2026, 10, 8), 1: date(2026, 10, 10)}


def _take(session: Session, district: District, actor: User, number: str, on: date = RECEIVED,
          town: Township | None = None) -> Added:
    """A 工单 about a point nobody registered (it opens a case), received and entered on `on`."""
    code = town.code if town else district.townships[0].code
    return add_complaint(session, district, actor=actor, number=number, summary="家长反映无证办园",
                         name=f"{number}托幼点", address=f"{number}村1号", township_code=code, received_on=on,
                         now=at(on, 9))


def _reminders(engine: sa.Engine, channel: str = "inbox") -> list[Message]:
    return messages(engine, PREFIX, channel)


def _offsets(engine: sa.Engine, recipient: str) -> list[int]:
    return [int(m.dedupe_key.split(":")[4]) for m in _reminders(engine) if m.recipient == recipient]


def _sweep(engine: sa.Engine, district: District, day: date, hour: int = 10) -> SweepReport:
    return sweep(engine, district, at(day, hour), deliver=False)


def test_reminders_fall_on_the_offsets_counted_in_working_days(engine: sa.Engine, district: District,
                                                              session: Session, people: People) -> None:
    added = _take(session, district, people.inspector, "GD20260929001")
    assert added.reply_due == REPLY_DUE
    sent_on: dict[int, date] = {}
    for day in days(RECEIVED, REPLY_DUE + timedelta(days=3)):
        before = set(_offsets(engine, people.inspector.name))
        report = _sweep(engine, district, day)
        new = set(_offsets(engine, people.inspector.name)) - before
        assert report.complaints_reminded == len(new) <= 1, day
        sent_on.update({offset: day for offset in new})
    # 5 on the day it came in, 3 on the first working day after the holiday, 1 on the make-up Saturday;
    # nothing during the holiday, on the day it is due, or once it is late
    assert sent_on == REMINDED_ON
    [m] = [m for m in _reminders(engine) if m.recipient == people.inspector.name and m.dedupe_key.split(":")[4] == "3"]
    assert "GD20260929001" in m.subject and "2026年10月12日" in m.subject and "还剩3个工作日" in m.subject
    assert m.case_id == added.case_id and "无证办园" in m.body and "2026-10-12" not in m.subject + m.body
    assert message_kind(m.dedupe_key) == "remind"  # in the inbox among the 期限提醒
    assert parse_reminder_key(m.dedupe_key) is None  # never read as a case deadline's reminder
    complaint_id = parse_reply_reminder_key(m.dedupe_key)
    assert complaint_id is not None and m.dedupe_key.startswith(reply_reminder_key(complaint_id, REPLY_DUE, 3))


def test_the_townships_inspectors_and_lead_are_told_and_no_one_else(engine: sa.Engine, district: District,
                                                                    session: Session, people: People) -> None:
    _take(session, district, people.reviewer, "GD-T1")  # the bureau took it in for township 1
    _take(session, district, people.other_inspector, "GD-T2", town=people.other_town)
    _sweep(engine, district, RECEIVED)
    told = Counter((m.dedupe_key.split(":")[2], m.recipient) for m in _reminders(engine))
    with Session(engine) as s:
        ids = {n: i for i, n in s.execute(sa.text("SELECT id, number FROM complaint")).all()}
    t1, t2 = str(ids["GD-T1"]), str(ids["GD-T2"])
    assert told == Counter({(t1, people.inspector.name): 1, (t1, people.inspector2.name): 1,
                            (t1, people.lead.name): 1, (t2, people.other_inspector.name): 1})
    # mail too, for those with an address (the lead and the first inspector)
    assert sorted(m.recipient for m in _reminders(engine, "mail")) == sorted([people.inspector.email,
                                                                              people.lead.email])


def test_none_twice_and_after_downtime_only_the_most_urgent(engine: sa.Engine, district: District,
                                                            session: Session, people: People) -> None:
    _take(session, district, people.inspector, "GD-1")
    first = _sweep(engine, district, RECEIVED)
    again = _sweep(engine, district, RECEIVED)
    later = _sweep(engine, district, RECEIVED, 16)
    assert (first.complaints_reminded, again.complaints_reminded, later.complaints_reminded) == (1, 0, 0)
    assert _offsets(engine, people.lead.name) == [5]
    # a second 工单, and the scheduler down until the make-up Saturday: one reminder, the 1-day one
    _take(session, district, people.inspector, "GD-2")
    for day in days(date(2026, 10, 10), date(2026, 10, 14)):
        _sweep(engine, district, day)
    assert _offsets(engine, people.lead.name) == [5, 1, 1]
    keys = [m.dedupe_key for m in messages(engine)]
    assert len(keys) == len(set(keys))


def test_no_reminder_once_the_reply_is_recorded(engine: sa.Engine, district: District, session: Session,
                                                people: People, smtp: Inbox) -> None:
    d = with_mail(district, smtp.port)
    _take(session, d, people.inspector, "GD-R")
    _sweep(engine, d, RECEIVED)
    assert _offsets(engine, people.inspector.name) == [5]
    _sweep(engine, d, date(2026, 10, 8))  # the 3-day reminder, its mail not yet delivered
    assert {m.status for m in _reminders(engine, "mail")} == {"pending"}
    reply_complaint(session, d, actor=people.inspector, number="GD-R", text="已核查并答复来电人",
                    on=date(2026, 10, 8), now=at(date(2026, 10, 8), 11))
    smtp.start()
    report = deliver_pending(engine, d, at(date(2026, 10, 8), 12))
    # answered: its reminders' mail is not sent (the bureau's digests are)
    assert report.cancelled == 4 and not [t for t in smtp.subjects() if "答复提醒" in t], smtp.subjects()
    for day in days(date(2026, 10, 9), date(2026, 10, 14)):
        assert _sweep(engine, d, day).complaints_reminded == 0
    assert _offsets(engine, people.inspector.name) == [5, 3]


def test_sweeps_in_threads_at_once_remind_each_once(engine: sa.Engine, district: District, session: Session,
                                                    people: People) -> None:
    n, threads_n = 5, 4
    for i in range(n):
        _take(session, district, people.inspector, f"GD-C{i}")
    done, errors = at_once(threads_n, lambda: _sweep(engine, district, RECEIVED))
    assert not errors, errors
    reports: list[SweepReport] = [*done]  # type: ignore[list-item]
    reports.append(_sweep(engine, district, RECEIVED, 11))  # takes what was busy, if anything
    assert sum(r.complaints_reminded for r in reports) == n
    assert Counter(m.recipient for m in _reminders(engine)) == Counter(
        {people.inspector.name: n, people.inspector2.name: n, people.lead.name: n})


def _local_today(district: District) -> date:
    return utcnow().astimezone(ZoneInfo(district.district.timezone)).date()


def test_scheduler_processes_at_once_remind_each_once(engine: sa.Engine, db_url: str, district: District,
                                                      session: Session, people: People) -> None:
    cal = district.work_calendar()
    day = cal.next_workday(_local_today(district) + timedelta(days=1))  # near today: --now needs no far clock
    for i in range(4):
        _take(session, district, people.inspector, f"GD-P{i}", on=day)
    cmd = [sys.executable, "-m", "app.cli", "scheduler", "tick", "--db", db_url, "--now", f"{day.isoformat()}T10:00",
           "--json", "--no-deliver"]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(3)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        reports.append(json.loads(out))
    reports.append(_sweep(engine, district, day, 11).as_dict())  # takes what was busy, if anything
    assert sum(int(r["complaints_reminded"]) for r in reports) == 4
    assert Counter(m.recipient for m in _reminders(engine)) == Counter(
        {people.inspector.name: 4, people.inspector2.name: 4, people.lead.name: 4})
    with Session(engine) as s:
        keys = list(s.exec(select(Message.dedupe_key)).all())
    assert len(keys) == len(set(keys))


def test_the_bureaus_digest_lists_open_and_late_replies(engine: sa.Engine, district: District, session: Session,
                                                        people: People) -> None:
    _take(session, district, people.inspector, "GD-OLD")
    _take(session, district, people.other_inspector, "GD-NEW", on=date(2026, 10, 12), town=people.other_town)
    _take(session, district, people.inspector, "GD-DONE", on=date(2026, 10, 12))
    reply_complaint(session, district, actor=people.inspector, number="GD-DONE", text="已答复",
                    on=date(2026, 10, 12), now=at(date(2026, 10, 12), 10))
    _sweep(engine, district, date(2026, 10, 13))  # GD-OLD one working day late; GD-NEW has four left
    digests = [m for m in messages(engine, "digest:", "inbox") if m.recipient == people.reviewer.name]
    [digest] = digests
    assert "12345工单 2 件待答复" in digest.subject and "其中 1 件逾期未答复" in digest.subject
    body = digest.body
    assert body.index("GD-OLD") < body.index("GD-NEW") and "GD-DONE" not in body
    assert "已逾期 1 个工作日" in body and "2026年10月12日" in body and "剩 4 个工作日" in body
    # the township's people are reminded, not sent the district's digest
    assert not [m for m in messages(engine, "digest:") if m.recipient in (people.inspector.name, people.lead.name)]
    _sweep(engine, district, date(2026, 10, 13), 15)  # again the same day: nothing new
    assert len([m for m in messages(engine, "digest:", "inbox") if m.recipient == people.reviewer.name]) == 1
