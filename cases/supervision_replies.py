"""Supervision is answered (督办反馈): which 督办通知书 a report answers, and chasing a reply that is late.

A `report_progress` transition answers every open notice of the case (a taken rung of the ladder,
not a passed one, not yet answered): the service records the answered notice numbers in the
event and marks the rungs with the event's id. A notice still unanswered after its reply-by date
is reminded to the township (lead and inspectors) and reported to the next level's inbox, once:
the claim is an `UPDATE … WHERE reply_reported_on IS NULL` in the same transaction as the messages.
It is a message, never a new numbered notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cases import notify
from cases.config import District
from cases.models import Case, Escalation, Notice, Point, Township, utcnow

_LOGGER = logging.getLogger(__name__)

_ESC = Escalation.__table__  # type: ignore[attr-defined]
_CASE = Case.__table__  # type: ignore[attr-defined]
_NOTICE = Notice.__table__  # type: ignore[attr-defined]
_POINT = Point.__table__  # type: ignore[attr-defined]
_TOWN = Township.__table__  # type: ignore[attr-defined]
APPROVAL = "approval"  # a late approval is the bureau's to answer, not the township's
DEFAULT_REPLY_DAYS = 5
# who hears that a rung's reply is missing: the next level's people (the committee is the top)
NEXT_LEVEL_ROLES: dict[int, tuple[str, ...]] = {1: ("reviewer",), 2: ("committee",), 3: ("committee",)}
NEXT_LEVEL_ZH: dict[int, str] = {1: "区教育局", 2: "区专项工作委员会", 3: "区专项工作委员会"}


@dataclass(frozen=True)
class OpenNotice:
    """A taken rung of the ladder whose 督办通知书 awaits the township's reply."""

    escalation_id: int
    case_id: int
    level: int
    notice_number: str
    done_on: date
    reply_by: date


def _reply_by(district: District, done_on: date, data: dict[str, object] | None) -> date:
    """The notice's own reply-by date; for notices issued without one, N working days after issue."""
    raw = (data or {}).get("reply_by")
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    return district.work_calendar().add(done_on, DEFAULT_REPLY_DAYS)


_OPEN = (sa.select(_ESC.c.id, _ESC.c.case_id, _ESC.c.level, _ESC.c.notice_number, _ESC.c.done_on, _NOTICE.c.data)
         .select_from(_ESC.outerjoin(_NOTICE, _NOTICE.c.number == _ESC.c.notice_number))
         .where(_ESC.c.answered_event_id.is_(None), _ESC.c.passed.is_(False), _ESC.c.kind != APPROVAL,
                _ESC.c.notice_number != ""))


def open_notices(session: Session, district: District, case_id: int) -> list[OpenNotice]:
    """The case's 督办通知书 awaiting a reply, lowest level first."""
    rows = session.connection().execute(_OPEN.where(_ESC.c.case_id == case_id).order_by(_ESC.c.level)).mappings()
    return [OpenNotice(r["id"], r["case_id"], r["level"], r["notice_number"], r["done_on"],
                       _reply_by(district, r["done_on"], r["data"])) for r in rows]


def mark_answered(session: Session, notices: list[OpenNotice], event_id: int) -> None:
    """Record, in the caller's transaction, that the event answered these notices."""
    ids = [n.escalation_id for n in notices]
    if ids:
        session.connection().execute(_ESC.update().where(_ESC.c.id.in_(ids), _ESC.c.answered_event_id.is_(None))
                                     .values(answered_event_id=event_id))


def notify_answered(session: Session, *, case_id: int, township_id: int, point_name: str, answered: list[OpenNotice],
                    actor_name: str, reason: str, key: str, now: datetime) -> None:
    """Tell the bodies that issued the answered notices (the bureau; the committee for 挂牌督办) that a reply came."""
    roles = ["reviewer"] + (["committee"] if any(n.level >= 3 for n in answered) else [])
    recipients = notify.people(session, roles=roles, township_id=None)
    if not recipients:
        return
    numbers = "、".join(n.notice_number for n in answered) or "（无未反馈的督办通知书）"
    body = (f"{point_name}（案件 #{case_id}）：{actor_name}报送督办反馈，答复 {numbers}。"
            f"反馈内容：{reason}")
    notify.enqueue(session, users=recipients, subject=f"【督办反馈】{point_name}"[:300], body=body, key=key,
                   case_id=case_id, now=now)


# -- the sweep: replies missing at their reply-by date ----------------------------------------------------


_DUE = (sa.select(_ESC.c.id, _ESC.c.case_id, _ESC.c.level, _ESC.c.notice_number, _ESC.c.done_on,
                  _ESC.c.deadline, _NOTICE.c.data, _CASE.c.township_id, _POINT.c.name.label("point"),
                  _TOWN.c.name.label("township"))
        .select_from(_ESC.join(_CASE, _CASE.c.id == _ESC.c.case_id)
                     .join(_POINT, _POINT.c.id == _CASE.c.point_id)
                     .join(_TOWN, _TOWN.c.id == _CASE.c.township_id)
                     .outerjoin(_NOTICE, _NOTICE.c.number == _ESC.c.notice_number))
        .where(_ESC.c.answered_event_id.is_(None), _ESC.c.reply_reported_on.is_(None), _ESC.c.passed.is_(False),
               _ESC.c.kind != APPROVAL, _ESC.c.notice_number != "",
               _CASE.c.deadline == _ESC.c.deadline,  # still under that supervision
               _CASE.c.escalation_level >= 1)
        .order_by(_ESC.c.id))


def chase_missing_replies(engine: Engine, district: District, now: datetime | None = None) -> int:
    """Remind and report upward, once each, every 督办通知书 whose reply-by date has passed unanswered."""
    from cases.service import local_today

    now = now or utcnow()
    today = local_today(district, now)
    done = 0
    with Session(engine) as session:
        rows = session.connection().execute(_DUE).mappings().all()
        session.rollback()
    for r in rows:
        reply_by = _reply_by(district, r["done_on"], r["data"])
        if today <= reply_by:
            continue
        with Session(engine) as session:
            try:
                claimed = session.connection().execute(
                    _ESC.update().where(_ESC.c.id == r["id"], _ESC.c.reply_reported_on.is_(None),
                                        _ESC.c.answered_event_id.is_(None))
                    .values(reply_reported_on=today)).rowcount
                if claimed != 1:
                    session.rollback()
                    continue
                _send(session, r, reply_by, now)
                session.commit()
            except BaseException:
                session.rollback()
                raise
        done += 1
        _LOGGER.info("case %s: reply to %s missing since %s, reported", r["case_id"], r["notice_number"], reply_by)
    return done


def _send(session: Session, r: sa.RowMapping, reply_by: date, now: datetime) -> None:
    level = int(r["level"])
    what = (f"{r['point']}（{r['township']}，案件 #{r['case_id']}）的督办通知书 {r['notice_number']}"
            f"要求于 {reply_by.isoformat()} 前反馈办理结果，至今未收到督办反馈。")
    town_people = notify.people(session, roles=["lead", "inspector"], township_id=r["township_id"])
    notify.enqueue(session, users=town_people, subject=f"【督办反馈逾期】{r['point']}：请立即反馈"[:300],
                   body=what + "请镇街负责人或检查员在案件页面报送督办反馈（办理情况和证据）。",
                   key=f"reply-missing:{r['id']}", case_id=r["case_id"], now=now)
    upper = notify.people(session, roles=list(NEXT_LEVEL_ROLES.get(level, ("committee",))), township_id=None)
    notify.enqueue(session, users=upper, subject=f"【督办未反馈】{r['point']}（{r['township']}）"[:300],
                   body=what + f"现报{NEXT_LEVEL_ZH.get(level, '区专项工作委员会')}，请督促镇街办理。",
                   key=f"reply-missing-up:{r['id']}", case_id=r["case_id"], now=now)
