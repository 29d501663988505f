"""The deciders' daily digest: one message a working day listing the proposals awaiting their decision
(and, for the bureau, the open 12345 工单).

Reminders of a case's own deadline go to the people of its township who must act (the
inspector). The bureau decides for the whole district, so one message per case would bury it
(hundreds a week); instead each working day it gets one digest of its queue: every proposal
whose approval deadline falls within the reminder horizon or has passed, soonest first.
The bureau's digest also lists the district's open 12345 工单, soonest due first, the late ones said
so: the hotline judges the townships on them, and the bureau is who answers to the hotline for the district
(the townships are reminded of their own before each reply is due, `cases.complaint_reminders`).
The digest is keyed by the day, so however often a sweep runs it is written once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime

from sqlmodel import Session, col, select

from cases import notify
from cases.complaint_reminders import PendingReply, pending_replies
from cases.config import District
from cases.models import Case, Point, Township, utcnow
from cases.queries import case_engine
from cases.service import local_today
from cases.supervision import APPROVAL, deciders, zh_date

_LOGGER = logging.getLogger(__name__)

MAX_LINES = 40  # the rest is in the approval queue
COMPLAINT_ROLES = ("reviewer",)  # the bureau: who hears of the district's open 12345 工单


def digest_key(roles: list[str], day: date) -> str:
    """The outbox key of a day's digest for the deciding roles: `digest:approval:<roles>:<day>`."""
    return f"digest:approval:{'+'.join(roles)}:{day.isoformat()}"


def approval_digest(session: Session, district: District, now: datetime | None = None) -> int:
    """Queue today's digest of the approval queue for each deciding role, the bureau's with the open 12345 工单
    (once a day); returns messages queued."""
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
    replies = pending_replies(session, district, today)
    if replies:
        groups.setdefault(COMPLAINT_ROLES, [])
    queued = 0
    for roles, lines in groups.items():
        recipients = notify.people(session, roles=list(roles), township_id=None)
        if not recipients:
            continue
        heads: list[str] = []
        parts: list[str] = []
        if lines:
            heads.append(f"{len(lines)} 件提议待审批" + (f"，其中 {late[roles]} 件已逾期" if late[roles] else ""))
            shown = lines[:MAX_LINES]
            more = f"\n另有 {len(lines) - len(shown)} 件，见审批队列。" if len(lines) > len(shown) else ""
            parts.append("以下提议的审批期限临近或已过，请在审批队列中及时审核：\n" + "\n".join(shown) + more)
        if roles == COMPLAINT_ROLES and replies:
            head, part = _complaint_section(replies, unit)
            heads.append(head)
            parts.append(part)
        title = "每日审批汇总" if lines else "每日汇总"
        subject = f"【{title}】{zh_date(today)}：" + "；".join(heads)
        queued += notify.enqueue(session, users=recipients, subject=subject[:300], body="\n\n".join(parts),
                                 key=digest_key(list(roles), today), now=now)
    session.commit()
    if queued:
        _LOGGER.info("approval digest for %s: %d messages", today, queued)
    return queued


def _complaint_section(replies: list[PendingReply], unit: str) -> tuple[str, str]:
    """The open 12345 工单 of the district, soonest due first: the subject's words and the body's section."""
    late = sum(r.days_left < 0 for r in replies)
    lines = []
    for r in replies:
        if r.days_left < 0:
            left = f"已逾期 {-r.days_left} {unit}"
        elif r.days_left == 0:
            left = "今日到期"
        else:
            left = f"剩 {r.days_left} {unit}"
        lines.append(f"· 工单 {r.number} {r.point}（{r.township}，案件 #{r.case_id}），"
                     f"答复期限 {zh_date(r.reply_due)}，{left}")
    shown = lines[:MAX_LINES]
    more = f"\n另有 {len(lines) - len(shown)} 件，见12345工单页面。" if len(lines) > len(shown) else ""
    head = f"12345工单 {len(replies)} 件待答复" + (f"，其中 {late} 件逾期未答复" if late else "")
    return head, "以下12345工单尚未答复热线，请督促镇街按期答复：\n" + "\n".join(shown) + more
