"""12345 replies coming due: the township is reminded before a 工单's reply is due, each reminder once.

A 工单 must be answered to the hotline by its `reply_due` (received + `[deadlines] complaint_reply`
working days). While it is open, the inspectors and the lead of its township are reminded as a
case deadline is (`[ladder] reminders`, e.g. 5, 3 and 1 working days before): the reminder due is
the one whose offset is the smallest not below the working days left, so on a sweep every day each
offset is sent on its day, and after downtime only the most urgent one goes out (no burst of stale
ones). Nothing is sent once the reply is recorded, nor for a reply already late (the bureau's daily
digest lists those, `cases.digest`).

Exactly once: a reminder is the set of messages keyed `remind:complaint:<id>:<reply due>:<offset>`
(the outbox's dedupe key), written in one transaction that first takes the 工单's row with an UPDATE
that changes nothing (a row lock on PostgreSQL, the write lock on SQLite) and checks, holding it,
that the 工单 is still open and not yet reminded. A second scheduler waits for the row and then finds
the reminder written; a reply recorded meanwhile is seen too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from cases import notify
from cases.config import District
from cases.db import is_busy
from cases.models import Case, Complaint, Message, Point, Township, utcnow
from cases.service import local_today
from cases.supervision import Outcome, deadlines_with_days_left, zh_date

_LOGGER = logging.getLogger(__name__)

COMPLAINT = Complaint.__table__  # type: ignore[attr-defined]
CASE = Case.__table__  # type: ignore[attr-defined]
POINT = Point.__table__  # type: ignore[attr-defined]
TOWNSHIP = Township.__table__  # type: ignore[attr-defined]
MESSAGE = Message.__table__  # type: ignore[attr-defined]
KEY_PREFIX = "remind:complaint:"  # a reminder (期限提醒 in the inbox), not a case deadline's
ROLES = ("inspector", "lead")  # who answers the hotline for the township


@dataclass(frozen=True)
class PendingReply:
    """An open 工单 with its reply due, for reminders and the digest."""

    id: int
    number: str
    case_id: int
    township_id: int
    point: str
    township: str
    summary: str
    received_on: date
    reply_due: date
    days_left: int  # working (or calendar) days from today to the reply's due day; negative when late


def reply_reminder_key(complaint_id: int, reply_due: date, offset: int) -> str:
    """The outbox key of a reply reminder: `remind:complaint:<id>:<reply due>:<offset>`."""
    return f"{KEY_PREFIX}{complaint_id}:{reply_due.isoformat()}:{offset}"


def parse_reply_reminder_key(dedupe_key: str) -> int | None:
    """The 工单's id of a reply reminder's message key; None for other messages."""
    if not dedupe_key.startswith(KEY_PREFIX):
        return None
    head = dedupe_key[len(KEY_PREFIX):].split(":", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else None


def reminder_offset(district: District, today: date, reply_due: date) -> int | None:
    """The reminder due on `today` for a reply due on `reply_due`: the smallest offset not below the days left."""
    left = district.work_calendar().between(today, reply_due)
    if left < 0:
        return None
    return min((d for d in district.ladder.reminders if d >= left), default=None)


_PENDING = (sa.select(COMPLAINT.c.id, COMPLAINT.c.number, COMPLAINT.c.case_id, COMPLAINT.c.township_id,
                      POINT.c.name.label("point"), TOWNSHIP.c.name.label("township"), COMPLAINT.c.summary,
                      COMPLAINT.c.received_on, COMPLAINT.c.reply_due)
            .select_from(COMPLAINT.join(CASE, CASE.c.id == COMPLAINT.c.case_id)
                         .join(POINT, POINT.c.id == CASE.c.point_id)
                         .join(TOWNSHIP, TOWNSHIP.c.id == COMPLAINT.c.township_id))
            .where(COMPLAINT.c.status == "open")
            .order_by(COMPLAINT.c.reply_due, COMPLAINT.c.id))


def pending_replies(session: Session, district: District, today: date, *, due_by: date | None = None,
                    complaint_id: int | None = None) -> list[PendingReply]:
    """Open 工单 (their reply due by `due_by` when given), soonest due first, with the days left."""
    q = _PENDING
    if due_by is not None:
        q = q.where(COMPLAINT.c.reply_due <= due_by)
    if complaint_id is not None:
        q = q.where(COMPLAINT.c.id == complaint_id)
    cal = district.work_calendar()
    return [PendingReply(**r, days_left=cal.between(today, r["reply_due"]))
            for r in session.connection().execute(q).mappings()]


def _reminded(session: Session, key: str) -> bool:
    found = session.connection().execute(
        sa.select(MESSAGE.c.id).where(MESSAGE.c.dedupe_key.startswith(f"{key}:", autoescape=True)).limit(1))
    return found.first() is not None



@dataclass
class Reminded:
    """What one run of `remind_replies` did."""

    done: int = 0  # 工单 reminded now
    busy: int = 0  # left to the next sweep: another writer held the 工单
    errors: int = 0  # failed unexpectedly (logged); the next sweep tries again


def remind_replies(engine: Engine, district: District, now: datetime | None = None) -> Reminded:
    """Remind the townships of the 工单 whose reply reminder is due today, each once."""
    now = now or utcnow()
    today = local_today(district, now)
    result = Reminded()
    if not district.ladder.reminders:
        return result
    _first, last_due = deadlines_with_days_left(district.work_calendar(), today, max(district.ladder.reminders))
    with Session(engine) as s:
        due = [(r, offset) for r in pending_replies(s, district, today, due_by=last_due)
               if r.reply_due >= today and (offset := reminder_offset(district, today, r.reply_due)) is not None
               and not _reminded(s, reply_reminder_key(r.id, r.reply_due, offset))]
    for row, offset in due:
        try:
            outcome = _remind(engine, district, row, offset, today, now)
        except Exception:  # logged and counted; the next sweep tries again
            _LOGGER.exception("reply reminder of complaint %s failed; the next sweep tries again", row.number)
            result.errors += 1
            continue
        result.done += outcome is Outcome.DONE
        result.busy += outcome is Outcome.BUSY
    if result.done:
        _LOGGER.info("reminded %d 12345 replies coming due", result.done)
    return result


def _remind(engine: Engine, district: District, row: PendingReply, offset: int, today: date,
            now: datetime) -> Outcome:
    key = reply_reminder_key(row.id, row.reply_due, offset)
    with Session(engine) as s:
        try:
            held = s.connection().execute(  # the row lock (PostgreSQL) or write lock (SQLite), and still open
                COMPLAINT.update().where(COMPLAINT.c.id == row.id, COMPLAINT.c.status == "open",
                                         COMPLAINT.c.reply_due == row.reply_due)
                .values(status=COMPLAINT.c.status)).rowcount
            if held != 1:
                s.rollback()
                return Outcome.MOVED_ON  # replied meanwhile
            if _reminded(s, key):
                s.rollback()
                return Outcome.ALREADY
            people = notify.people(s, roles=ROLES, township_id=row.township_id)
            if not people:  # nobody to tell yet: tried again by the next sweep
                s.rollback()
                return Outcome.NOT_DUE
            subject, body = _message(district, row, today)
            queued = notify.enqueue(s, users=people, subject=subject[:300], body=body, key=key,
                                    case_id=row.case_id, now=now)
            s.commit()
        except OperationalError as exc:
            s.rollback()
            if is_busy(exc):
                return Outcome.BUSY
            raise
        except BaseException:
            s.rollback()
            raise
    _LOGGER.info("complaint %s: reply reminder %d days before %s", row.number, offset, row.reply_due)
    return Outcome.DONE if queued else Outcome.ALREADY


def _message(district: District, row: PendingReply, today: date) -> tuple[str, str]:
    unit = "个工作日" if district.deadlines.calendar == "workdays" else "天"
    left = "今日到期" if row.days_left == 0 else f"还剩{row.days_left}{unit}"
    subject = f"【12345答复提醒】{row.point}：工单 {row.number} 须于{zh_date(row.reply_due)}前答复，{left}"
    said = f"诉求：{row.summary}。" if row.summary else ""
    body = (f"12345工单 {row.number}（{row.received_on.year}年{row.received_on.month}月{row.received_on.day}日受理，"
            f"{row.point}，{row.township}，案件 #{row.case_id}）须于{zh_date(row.reply_due)}前答复热线，{left}。"
            f"{said}请按期办理并答复，答复后在「12345工单」页面（或 tuoyou complaint reply）登记答复内容。")
    return subject, body
