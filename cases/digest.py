"""The deciders' daily digest: one message a working day listing the proposals awaiting their decision.

Reminders of a case's own deadline go to the people of its township who must act (the
inspector). The bureau decides for the whole district, so one message per case would bury it
(hundreds a week); instead each working day it gets one digest of its queue: every proposal
whose approval deadline falls within the reminder horizon or has passed, soonest first.
The digest is keyed by the day, so however often a sweep runs it is written once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime

from sqlmodel import Session, col, select

from cases import notify
from cases.config import District
from cases.models import Case, Point, Township, utcnow
from cases.queries import case_engine
from cases.service import local_today
from cases.supervision import APPROVAL, deciders, zh_date

_LOGGER = logging.getLogger(__name__)

MAX_LINES = 40  # the rest is in the approval queue


def digest_key(roles: list[str], day: date) -> str:
    """The outbox key of a day's digest for the deciding roles: `digest:approval:<roles>:<day>`."""
    return f"digest:approval:{'+'.join(roles)}:{day.isoformat()}"


def approval_digest(session: Session, district: District, now: datetime | None = None) -> int:
    """Queue today's digest of the approval queue for each deciding role (once a day); returns messages queued."""
    now = now or utcnow()
    today = local_today(district, now)
    cal = district.work_calendar()
    if not cal.is_workday(today):
        return 0
    horizon = cal.add(today, max(district.ladder.reminders or [5]))
    rows = session.exec(
        select(Case, Point.name, Township.name)
        .join(Point, col(Point.id) == Case.point_id).join(Township, col(Township.id) == Case.township_id)
        .where(col(Case.deadline_kind) == APPROVAL, col(Case.deadline).is_not(None), col(Case.deadline) <= horizon)
        .order_by(col(Case.deadline), col(Case.id))).all()
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    late: dict[tuple[str, ...], int] = defaultdict(int)
    unit = "个工作日" if district.deadlines.calendar == "workdays" else "天"
    for case, point, town in rows:
        eng = case_engine(case)
        if eng.spec.state(case.state).terminal or not eng.spec.state(case.state).proposal:
            continue
        roles = tuple(deciders(case))
        assert case.deadline is not None
        if case.deadline < today:
            left = f"已逾期 {cal.between(case.deadline, today)} {unit}"
            late[roles] += 1
        elif case.deadline == today:
            left = "今日到期"
        else:
            left = f"剩 {cal.between(today, case.deadline)} {unit}"
        groups[roles].append(f"· 案件 #{case.id} {point}（{town}）「{eng.state_zh(case.state)}」，"
                             f"审批期限 {zh_date(case.deadline)}，{left}")
    queued = 0
    for roles, lines in groups.items():
        recipients = notify.people(session, roles=list(roles), township_id=None)
        if not recipients:
            continue
        subject = f"【每日审批汇总】{zh_date(today)}：{len(lines)} 件提议待审批"
        if late[roles]:
            subject += f"，其中 {late[roles]} 件已逾期"
        shown = lines[:MAX_LINES]
        more = f"\n另有 {len(lines) - len(shown)} 件，见审批队列。" if len(lines) > len(shown) else ""
        body = ("以下提议的审批期限临近或已过，请在审批队列中及时审核：\n" + "\n".join(shown) + more)
        queued += notify.enqueue(session, users=recipients, subject=subject, body=body,
                                 key=digest_key(list(roles), today), now=now)
    session.commit()
    if queued:
        _LOGGER.info("approval digest for %s: %d messages", today, queued)
    return queued
