"""The sweeps: find what is due in the database and act on it, as the system actor.

Each sweep is a plain module-level function of (engine, district, now):

- `expire_overdue`: rectification deadlines that have passed → `expire` through `cases.service.advance`;
- `escalate_missed`: the supervision ladder (levels 1–3) and late approvals, through `cases.supervision.escalate`;
- `send_reminders`: the reminder whose day it is (5, 3, 1 working days before a deadline), through
  `cases.supervision.remind`;
- 12345 replies coming due: the same offsets before a 工单's reply is due, through
  `cases.complaint_reminders.remind_replies`;
- `sweep`: all of them, then outbox delivery (`scheduler.delivery`).

Every query asks for an indexed `deadline` range of given states (and ladder levels), so a
sweep reads what is due, never the whole case table. Acting is idempotent: every step is
claimed by a unique key in the same transaction as its effects, so repeated, concurrent or
interrupted sweeps take each step once. A sweep that meets a busy case leaves it to the next.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cases.complaint_reminders import remind_replies
from cases.config import District
from cases.digest import approval_digest
from cases.errors import Conflict, TuoyouError
from cases.models import Case, Escalation, Reminder, User, utcnow
from cases.queries import all_states, terminal_states
from cases.service import Action, advance, local_today
from cases.serving import remind_unserved
from cases.supervision import (
    APPROVAL,
    APPROVAL_LEVEL,
    APPROVAL_STATES,
    LADDER_STATES,
    MAX_LEVEL,
    Outcome,
    deadlines_with_days_left,
    due_levels,
    eligible_states,
    escalate,
    latest_deadline_overdue_by,
    overdue_days,
    remind,
    threshold,
)
from cases.supervision_replies import chase_missing_replies
from cases.users import system_user
from scheduler.delivery import Channel, DeliveryReport, deliver_pending

_LOGGER = logging.getLogger(__name__)

BATCH = 500
_LADDER_STATE_NAMES: tuple[str, ...] = tuple(sorted({s for states in LADDER_STATES.values() for s in states}))


@dataclass
class SweepReport:
    """What one sweep did."""

    now: datetime
    today: date
    expired: int = 0
    escalated: Counter[int] = field(default_factory=Counter)  # level → count (ladder)
    approvals_escalated: int = 0
    reminded: int = 0
    unserved_reminded: int = 0  # notices still unserved some working days after issue (送达提醒)
    complaints_reminded: int = 0  # 12345 工单 whose reply is coming due (答复提醒), once per offset
    replies_chased: int = 0  # 督办通知书 whose reply is late: reminded and reported upward (once each)
    busy: int = 0  # steps left to the next sweep because another writer held the case
    errors: int = 0  # steps that failed unexpectedly (logged); the next sweep tries them again
    delivery: DeliveryReport | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "today": self.today.isoformat(),
            "expired": self.expired,
            "escalated": {str(lv): self.escalated.get(lv, 0) for lv in (1, 2, 3)},
            "approvals_escalated": self.approvals_escalated,
            "reminded": self.reminded,
            "unserved_reminded": self.unserved_reminded,
            "complaints_reminded": self.complaints_reminded,
            "replies_chased": self.replies_chased,
            "busy": self.busy,
            "errors": self.errors,
            "delivery": self.delivery.as_dict() if self.delivery else None,
        }

    def lines(self) -> list[str]:
        """A short bilingual summary for operators."""
        e = self.escalated
        out = [
            f"调度时间 {self.today.isoformat()}（{self.now.isoformat()}）/ sweep at {self.now.isoformat()}",
            f"逾期标记 {self.expired} 件 / expired: {self.expired}",
            f"督办升级：镇街督办 {e.get(1, 0)}，区教育局督办 {e.get(2, 0)}，挂牌督办 {e.get(3, 0)}，"
            f"审批超期 {self.approvals_escalated} / escalations: level 1 {e.get(1, 0)}, level 2 {e.get(2, 0)}, "
            f"level 3 {e.get(3, 0)}, late approvals {self.approvals_escalated}",
            f"期限提醒 {self.reminded} 条 / reminders: {self.reminded}",
            f"送达提醒 {self.unserved_reminded} 件 / unserved notices reminded: {self.unserved_reminded}",
            f"12345工单答复提醒 {self.complaints_reminded} 件 / 12345 replies reminded: {self.complaints_reminded}",
            f"督办反馈逾期 {self.replies_chased} 件 / late 督办 replies chased: {self.replies_chased}",
        ]
        if self.busy:
            out.append(f"稍后重试 {self.busy} 项（案件正被修改）/ retried next sweep: {self.busy}")
        if self.errors:
            out.append(f"出错 {self.errors} 项（见日志，下次重试）/ errors (see the log; retried): {self.errors}")
        if self.delivery:
            d = self.delivery
            out.append(f"消息投递：已发送 {d.sent}，待重试 {d.retried}，失败 {d.failed}，已取消 {d.cancelled}"
                       f" / delivery: sent {d.sent}, to retry {d.retried}, failed {d.failed}, cancelled {d.cancelled}")
        return out


def _system_user(engine: Engine) -> User:
    with Session(engine, expire_on_commit=False) as s:
        user = system_user(s)
        s.expunge(user)
        return user


def _pages(engine: Engine, query: Any) -> Iterator[list[Any]]:
    """Rows of `query` (whose first column is the case id) in pages, by ascending case id."""
    last_id = 0
    while True:
        with Session(engine) as s:
            rows = list(s.execute(query.where(Case.id > last_id).order_by(col(Case.id)).limit(BATCH)).all())
        if not rows:
            return
        yield rows
        last_id = rows[-1][0]
        if len(rows) < BATCH:
            return


def _attempt(engine: Engine, report: SweepReport, what: str, case_id: int,
             step: Callable[[Session], Outcome]) -> Outcome | None:
    """Run one step in a fresh session; an unexpected error is logged and counted, and the sweep goes on."""
    try:
        with Session(engine, expire_on_commit=False) as s:
            return step(s)
    except Exception:
        _LOGGER.exception("%s failed for case %s; the next sweep tries again", what, case_id)
        report.errors += 1
        return None


# -- expire ----------------------------------------------------------------------------------


def expire_overdue(engine: Engine, district: District, now: datetime | None = None,
                   report: SweepReport | None = None) -> int:
    """Turn every `rectifying` case whose deadline has passed `overdue` (trigger `expire`)."""
    now = now or utcnow()
    today = local_today(district, now)
    report = report if report is not None else SweepReport(now=now, today=today)
    system = _system_user(engine)
    q = select(Case.id).where(Case.state == "rectifying", col(Case.deadline) < today)

    def expire(case_id: int) -> Callable[[Session], Outcome]:
        def step(s: Session) -> Outcome:
            try:
                advance(session=s, district=district, case_id=case_id, actor=system, action=Action("expire"),
                        now=now)
            except Conflict as exc:  # another writer holds the case: the next sweep sees it again
                _LOGGER.debug("case %s not expired now: %s", case_id, exc.en)
                return Outcome.BUSY
            except TuoyouError as exc:  # moved on meanwhile, or another sweep expired it first
                _LOGGER.debug("case %s not expired: %s", case_id, exc.en)
                return Outcome.MOVED_ON
            return Outcome.DONE
        return step

    done = 0
    for page in _pages(engine, q):
        for (case_id,) in page:
            outcome = _attempt(engine, report, "expire", case_id, expire(case_id))
            done += outcome is Outcome.DONE
            report.busy += outcome is Outcome.BUSY
    report.expired += done
    return done


# -- the ladder ------------------------------------------------------------------------------


def _claimed(engine: Engine, model: type[Escalation] | type[Reminder], case_ids: Sequence[int]) -> set[tuple[Any, ...]]:
    if not case_ids:
        return set()
    level_col = "level" if model is Escalation else "days_before"
    table = model.__table__  # type: ignore[attr-defined]
    with Session(engine) as s:
        rows = s.execute(sa.select(table.c.case_id, table.c.deadline, table.c.kind, table.c[level_col])
                         .where(table.c.case_id.in_(list(case_ids)))).all()
    return {tuple(r) for r in rows}


def _ladder_query(district: District, today: date) -> Any:
    """Cases whose next rung is due: per level, one (state, level, deadline) index range."""
    cal = district.work_calendar()
    branches = []
    for level in range(1, MAX_LEVEL + 1):
        cutoff = latest_deadline_overdue_by(cal, today, threshold(district, "rectification", level))
        branches.append(sa.and_(col(Case.state).in_(_LADDER_STATE_NAMES), Case.escalation_level == level - 1,
                                col(Case.deadline) <= cutoff))
    approval_cutoff = latest_deadline_overdue_by(cal, today, threshold(district, APPROVAL, APPROVAL_LEVEL))
    branches.append(sa.and_(col(Case.state).in_(APPROVAL_STATES),
                            col(Case.escalation_level).in_(list(range(APPROVAL_LEVEL))),
                            col(Case.deadline) <= approval_cutoff))
    return select(Case.id, Case.state, Case.deadline, Case.deadline_kind, Case.escalation_level).where(
        sa.or_(*branches))


def escalate_missed(engine: Engine, district: District, now: datetime | None = None,
                    report: SweepReport | None = None) -> int:
    """Take the highest rung of the ladder that is due for each case.

    After downtime several rungs may be due at once: only the highest is taken (its notice issued);
    the lower ones are recorded as passed, not sent. A restored deadline keeps the rungs it had.
    """
    now = now or utcnow()
    today = local_today(district, now)
    cal = district.work_calendar()
    report = report if report is not None else SweepReport(now=now, today=today)
    done = 0
    for page in _pages(engine, _ladder_query(district, today)):
        claimed = _claimed(engine, Escalation, [r[0] for r in page])
        for case_id, state, deadline, kind, reached in page:
            if kind is None or deadline is None or state not in eligible_states(kind):
                continue
            due = [lv for lv in due_levels(district, kind, overdue_days(cal, deadline, today))
                   if (case_id, deadline, kind, lv) not in claimed and (kind == APPROVAL or lv > reached)]
            for level in due[-1:]:
                outcome = _attempt(engine, report, f"level {level} escalation", case_id, partial(
                    _escalate, district=district, case_id=case_id, deadline=deadline, kind=kind, level=level,
                    now=now))
                if outcome is Outcome.DONE:
                    done += 1
                    if kind == APPROVAL:
                        report.approvals_escalated += 1
                    else:
                        report.escalated[level] += 1
                    continue
                if outcome is Outcome.ALREADY:
                    continue
                if outcome is Outcome.BUSY:
                    report.busy += 1
                break  # moved on, busy or failed: the higher rungs wait
    return done


# -- reminders -------------------------------------------------------------------------------


def send_reminders(engine: Engine, district: District, now: datetime | None = None,
                   report: SweepReport | None = None) -> int:
    """Queue the reminders whose day it is: the deadline is exactly 5, 3 or 1 working days away."""
    now = now or utcnow()
    today = local_today(district, now)
    report = report if report is not None else SweepReport(now=now, today=today)
    cal = district.work_calendar()
    live = [s for s in all_states() if s not in terminal_states()]
    done = 0
    for days in sorted(set(district.ladder.reminders)):
        lo, hi = deadlines_with_days_left(cal, today, days)
        q = select(Case.id, Case.deadline, Case.deadline_kind).where(
            col(Case.state).in_(live), col(Case.deadline) >= lo, col(Case.deadline) <= hi,
            sa.or_(col(Case.deadline_set_on).is_(None), col(Case.deadline_set_on) < today))
        for page in _pages(engine, q):
            claimed = _claimed(engine, Reminder, [r[0] for r in page])
            for case_id, deadline, kind in page:
                if kind is None or (case_id, deadline, kind, days) in claimed:
                    continue
                outcome = _attempt(engine, report, "reminder", case_id, partial(
                    _remind, district=district, case_id=case_id, deadline=deadline, kind=kind, days_before=days,
                    now=now))
                done += outcome is Outcome.DONE
                report.busy += outcome is Outcome.BUSY
    report.reminded += done
    return done


def send_digest(engine: Engine, district: District, now: datetime | None = None) -> int:
    """The deciders' daily digest of their approval queue (once a working day, whatever the sweeps)."""
    with Session(engine) as s:
        return approval_digest(s, district, now)


def _escalate(s: Session, **kw: Any) -> Outcome:
    return escalate(session=s, **kw)


def _remind(s: Session, **kw: Any) -> Outcome:
    return remind(session=s, **kw)


# -- all together ----------------------------------------------------------------------------


def _seal(engine: Engine) -> None:
    """The district seal, at most once per `cases.seal.SEAL_EVERY`, and the content of new renderings."""
    from cases import seal
    from cases.notices.verify import fill_missing_contents

    try:
        with Session(engine, expire_on_commit=False) as s:
            seal.seal(s, every=seal.SEAL_EVERY)  # by the wall clock: a drill's --now must not skew it
            fill_missing_contents(s)
    except Exception:  # a failing step is logged, never fatal to the sweep
        _LOGGER.exception("sealing the audit chains failed")


def sweep(
    engine: Engine,
    district: District,
    now: datetime | None = None,
    *,
    expire: bool = True,
    ladder: bool = True,
    reminders: bool = True,
    deliver: bool = True,
    channels: dict[str, Channel] | None = None,
    replies: bool = True,
) -> SweepReport:
    """One full sweep at the clock `now`: expire, escalate, remind, then deliver the outbox."""
    now = now or utcnow()
    report = SweepReport(now=now, today=local_today(district, now))
    if expire:
        expire_overdue(engine, district, now, report)
    if ladder:
        escalate_missed(engine, district, now, report)
    if ladder and replies:  # 督办通知书 whose reply is late: reminded and reported upward, once
        try:
            report.replies_chased += chase_missing_replies(engine, district, now)
        except Exception:  # logged and counted like any failing step; the next sweep tries again
            _LOGGER.exception("chasing late 督办 replies failed")
            report.errors += 1
    if reminders:
        send_reminders(engine, district, now, report)
        try:
            report.unserved_reminded += remind_unserved(engine, district, now)
        except Exception:  # a failing step is logged and counted, never fatal to the sweep
            _LOGGER.exception("unserved-notice reminders failed")
            report.errors += 1
        try:
            replies = remind_replies(engine, district, now)
            report.complaints_reminded += replies.done
            report.busy += replies.busy
            report.errors += replies.errors
        except Exception:  # a failing step is logged and counted, never fatal to the sweep
            _LOGGER.exception("12345 reply reminders failed")
            report.errors += 1
        try:
            send_digest(engine, district, now)
        except Exception:  # a failing step is logged and counted, never fatal to the sweep
            _LOGGER.exception("approval digest failed")
            report.errors += 1
    if deliver:
        report.delivery = deliver_pending(engine, district, now, channels=channels)
    _seal(engine)
    _LOGGER.info("sweep %s: %s", report.today, report.as_dict())
    return report
