"""The supervision ladder's writes (多层级督查督办): one escalation rung or one reminder, exactly once.

`escalate` takes one rung of the ladder for one missed deadline of one case, in ONE
transaction: it locks the case, checks the case still sits at that deadline and the rung is
due, claims the (case, deadline, kind, level) key in `escalation`, raises
`Case.escalation_level`, issues the 督办通知书 / 挂牌督办通知书, appends an `escalate` event to
the case's hash chain and queues the notifications; then it commits. A second caller (a
second sweep, a second scheduler process, a retry after a crash) finds the key taken and
does nothing. `remind` does the same for a reminder (`reminder` key; messages only, no audit
event). Neither ever writes `Case.state`: overdue marking goes through `cases.service.advance`.

Lock order: on PostgreSQL the case row is locked first (`FOR UPDATE SKIP LOCKED`: a case
another worker holds is skipped, that worker finishes it) and the key is claimed second. On
SQLite the claim is the first statement: a write takes the database's write lock at once,
so the rest of the transaction reads fresh rows and two processes are serialised by the
lock and the unique key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from cases import audit, notify
from cases.config import District
from cases.db import is_busy
from cases.models import Case, CaseEvent, Escalation, Inspection, Notice, Point, Reminder, Township, User, utcnow
from cases.queries import case_engine
from cases.service import LEVEL_ZH, issue_notice, local_today
from cases.users import SYSTEM_USER
from workflow.notices import NoticeKind
from workflow.registry import WORKFLOWS
from workflow.spec import PREVIOUS, SAME, Role
from workflow.workdays import WorkCalendar

_LOGGER = logging.getLogger(__name__)

APPROVAL = "approval"
_CASE = Case.__table__  # type: ignore[attr-defined]
_EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
_NOTICE = Notice.__table__  # type: ignore[attr-defined]
_ESCALATION = Escalation.__table__  # type: ignore[attr-defined]
MAX_LEVEL = 3

# Deadline kind → the states in which missing it climbs the ladder (levels 1–3).
# A missed rectification deadline first turns the case `overdue` (expire), then climbs.
LADDER_STATES: dict[str, tuple[str, ...]] = {
    "rectification": ("overdue",),
    "review": ("under_review",),
    "reinspection": ("reinspecting",),
    "cessation": ("refused",),
    "enforcement": ("enforcement",),
}
# A late approval (a proposal past its approval deadline, awaiting the bureau's decision, in any
# declared workflow) goes to the committee, one rung.
APPROVAL_STATES: tuple[str, ...] = tuple(dict.fromkeys(
    s.name for spec in WORKFLOWS.values() for s in spec.states
    if s.proposal and any(s.name in t.sources and Role.REVIEWER in t.roles and t.dest not in (PREVIOUS, SAME)
                          for t in spec.transitions)))
APPROVAL_LEVEL = MAX_LEVEL  # the committee's rung

KIND_ZH: dict[str, str] = {
    "review": "审查核查期限",
    "rectification": "整改期限",
    "reinspection": "复查期限",
    "cessation": "停止办园期限",
    "enforcement": "依法处置期限",
    "approval": "审批期限",
    "application": "申请办理期限",
}

# What the reminded people should do before the deadline, per deadline kind.
REMINDER_TODO: dict[str, str] = {
    "review": "请按期完成现场审查核查，并作出处理（责令整改、拟予备案、拟不予备案等）。",
    "rectification": ("请督促举办者按期完成整改，整改完成后及时申请复查；"
                      "逾期未整改的，系统将自动标记为逾期未整改并启动督办。"),
    "reinspection": "请按期完成复查，并作出复查结论（拟予备案或复查不合格）。",
    "cessation": "请按期到现场核实该点是否已停止办园，核实后确认停办；逾期仍未停办的，请提出依法处置。",
    "enforcement": "请按期完成依法处置（责令停止办园）并现场核实，报区教育局确认取缔。",
    "approval": "请按期审核该提议（批准或退回）；逾期未审核的，将报区专项工作委员会督办。",
    "application": "请按期办理。",
}

# What each rung asks of the people it notifies.
ESCALATION_TODO: dict[int, str] = {
    1: "请镇街负责人督促检查员和举办者立即整改落实，并及时反馈办理结果。",
    2: "请区教育局督促镇街限期办结，逾期仍未办结的将提请挂牌督办。",
    3: "请区专项工作委员会挂牌督办，督促相关单位依法依规处置到位。",
}
APPROVAL_TODO = "请区专项工作委员会督促区教育局尽快完成审核。"


class Outcome(StrEnum):
    """What one call of `escalate` / `remind` did."""

    DONE = "done"  # this call took the step
    ALREADY = "already"  # the step was taken before (the key is claimed)
    MOVED_ON = "moved_on"  # the case is no longer at that deadline: nothing is due any more
    NOT_DUE = "not_due"  # the step is not due on this day
    BUSY = "busy"  # another writer holds the case; the next sweep tries again


# -- counting --------------------------------------------------------------------------------


def overdue_days(cal: WorkCalendar, deadline: date, today: date) -> int:
    """Working (or calendar) days past `deadline` up to and including `today`."""
    return cal.between(deadline, today)


def latest_deadline_overdue_by(cal: WorkCalendar, today: date, days: int) -> date:
    """The latest deadline that is at least `days` (working) days overdue on `today`."""
    if cal.mode == "calendar" or days <= 0:
        return today - timedelta(days=max(days, 0))
    day, count = today, 0
    while True:
        if cal.is_workday(day):
            count += 1
            if count == days:
                return day - timedelta(days=1)
        day -= timedelta(days=1)


def deadlines_with_days_left(cal: WorkCalendar, today: date, days: int) -> tuple[date, date]:
    """The range of deadlines that are exactly `days` (working) days away from `today`."""
    return cal.add(today, days), cal.add(today, days + 1) - timedelta(days=1)


def threshold(district: District, kind: str, level: int) -> int:
    """Working days past the deadline at which the rung `level` of a `kind` deadline is due."""
    if kind == APPROVAL:
        return district.ladder.approval_escalation
    return {1: district.ladder.level1, 2: district.ladder.level2, 3: district.ladder.level3}[level]


def ladder_levels(kind: str) -> tuple[int, ...]:
    return (APPROVAL_LEVEL,) if kind == APPROVAL else (1, 2, 3)


def due_levels(district: District, kind: str, overdue: int) -> list[int]:
    """The rungs due (now or earlier) for a deadline `overdue` working days past."""
    return [lv for lv in ladder_levels(kind) if overdue >= threshold(district, kind, lv)]


def eligible_states(kind: str) -> tuple[str, ...]:
    return APPROVAL_STATES if kind == APPROVAL else LADDER_STATES.get(kind, ())


# -- rungs -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rung:
    """Who a rung goes to and which notice it issues (issuer, addressee and copies from the district's config)."""

    level: int
    zh: str
    notice: NoticeKind
    unit: str  # the notice's addressee: the body that must act
    roles: tuple[str, ...]  # whom it notifies
    todo: str
    issuer: str = ""  # the body that issues the notice
    issuer_ref: str = "bureau"  # that body as the district file names it (its 文号 series)
    cc: tuple[str, ...] = ()  # 抄送
    reply_days: int = 5  # the addressee replies within this many (working) days of issue
    contact: str = ""  # unit and phone to contact, from config


RUNG_ROLES: dict[int, tuple[str, ...]] = {1: ("lead",), 2: ("reviewer",), 3: ("committee",)}


def level_zh(district: District, level: int) -> str:
    """The district's name of ladder level `level` (0 is a reminder)."""
    return district.supervision.rung(level).name if level in (1, 2, 3) else LEVEL_ZH.get(level, str(level))


def rung(district: District, kind: str, level: int, township: Township) -> Rung:
    cfg = district.township(township.code)
    town_unit = cfg.unit if cfg else township.name
    if kind == APPROVAL:
        r, lv, roles, todo = district.supervision.approval, APPROVAL_LEVEL, ("committee",), APPROVAL_TODO
    else:
        r, lv, roles = district.supervision.rung(level), level, RUNG_ROLES[level]
        todo = ESCALATION_TODO[level].replace("区教育局", district.district.bureau_short)
    notice = NoticeKind.LISTED_SUPERVISION if kind != APPROVAL and level == MAX_LEVEL else NoticeKind.SUPERVISION_NOTICE
    unit = district.unit_name(r.addressee, town_unit)
    issuer = district.unit_name(r.issuer, town_unit)
    cc = tuple(dict.fromkeys(c for c in (district.unit_name(ref, town_unit) for ref in r.cc) if c and c != unit))
    return Rung(lv, r.name, notice, unit, roles, todo, issuer=issuer, issuer_ref=r.issuer, cc=cc,
                reply_days=r.reply_days, contact=district.unit_contact(r.issuer))


# -- helpers ---------------------------------------------------------------------------------

_WEEKDAYS = "一二三四五六日"


def zh_date(day: date) -> str:
    """2026年10月9日（星期五）"""
    return f"{day.year}年{day.month}月{day.day}日（星期{_WEEKDAYS[day.weekday()]}）"


def _claim(session: Session, model: type[Escalation] | type[Reminder], values: dict[str, Any],
           key: list[str]) -> bool:
    """Insert the claim row unless its key exists; True when this transaction claimed it."""
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    stmt = ins.values(**values).on_conflict_do_nothing(index_elements=key).returning(table.c.id)
    return session.connection().execute(stmt).scalar_one_or_none() is not None


class LockedCase:
    """The case row as read (and row-locked) for one step: plain attributes, written back by hand."""

    def __init__(self, row: Mapping[str, Any]) -> None:
        self.__dict__.update(row)

    def __getattr__(self, name: str) -> Any:  # for type checkers: the columns are set in __init__
        raise AttributeError(name)


def _lock_case(session: Session, case_id: int, *, skip_locked: bool, share: bool = False) -> LockedCase | None:
    """The case, row-locked (PostgreSQL); None when another transaction holds it and we skip."""
    q = sa.select(_CASE).where(_CASE.c.id == case_id).with_for_update(skip_locked=skip_locked, read=share)
    row = session.connection().execute(q).mappings().first()
    return LockedCase(row) if row is not None else None


def _system(session: Session) -> User:
    user = session.exec(select(User).where(User.name == SYSTEM_USER)).first()
    if user is None:
        raise RuntimeError("the system user is missing: run `tuoyou init`")
    return user


def _last_findings(session: Session, case_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    insp = session.exec(select(Inspection).where(Inspection.case_id == case_id)
                        .order_by(col(Inspection.id).desc())).first()
    if insp is None:
        return (), ()
    failed = tuple(sorted(c for c, r in insp.results.items() if r == "fail"))
    major = tuple(sorted(c for c, r in insp.results.items() if r == "major"))
    return failed, major


def _previous_levels(session: Session, district: District, case_id: int, deadline: date, kind: str,
                     level: int) -> list[dict[str, Any]]:
    """The rungs this missed deadline already took (for the notice's recital), lowest first."""
    rows = session.exec(select(Escalation).where(
        Escalation.case_id == case_id, Escalation.deadline == deadline, Escalation.kind == kind,
        col(Escalation.level) < level, Escalation.notice_number != "").order_by(col(Escalation.level))).all()
    return [{"level": e.level, "level_zh": level_zh(district, e.level), "number": e.notice_number,
             "on": e.done_on.isoformat()} for e in rows]


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"



# -- escalate --------------------------------------------------------------------------------


def escalate(
    *,
    session: Session,
    district: District,
    case_id: int,
    deadline: date,
    kind: str,
    level: int,
    now: datetime | None = None,
    skip_locked: bool = True,
) -> Outcome:
    """Take rung `level` of the ladder for the case's missed `kind` deadline, once, and commit.

    The session must hold no uncommitted work of the caller: this function commits or rolls back.
    """
    now = now or utcnow()
    today = local_today(district, now)
    cal = district.work_calendar()
    if level not in ladder_levels(kind):
        raise ValueError(f"no rung {level} for {kind} deadlines")
    key = {"case_id": case_id, "deadline": deadline, "kind": kind, "level": level}
    claim = {**key, "state": "", "overdue_days": 0, "notice_number": "", "done_on": today, "done_at": now}
    key_cols = ["case_id", "deadline", "kind", "level"]
    claim_first = _is_sqlite(session)
    try:
        if claim_first and not _claim(session, Escalation, claim, key_cols):
            session.rollback()
            return Outcome.ALREADY
        case = _lock_case(session, case_id, skip_locked=skip_locked)
        if case is None:
            session.rollback()
            return Outcome.BUSY
        if case.deadline != deadline or case.deadline_kind != kind or case.state not in eligible_states(kind):
            session.rollback()
            return Outcome.MOVED_ON
        if kind != APPROVAL and level <= case.escalation_level:  # a restored deadline kept this rung
            session.rollback()
            return Outcome.ALREADY
        days = overdue_days(cal, deadline, today)
        if days < threshold(district, kind, level):
            session.rollback()
            return Outcome.NOT_DUE
        if not claim_first and not _claim(session, Escalation, claim, key_cols):
            session.rollback()
            return Outcome.ALREADY
        passed = _pass_lower_rungs(session, case, kind, level, deadline, days, today, now)
        number = _take_rung(session, district, case, kind, level, days, today, now, passed=passed)
    except (IntegrityError, StaleDataError):  # a concurrent writer got in between: nothing was saved
        session.rollback()
        return Outcome.BUSY
    except OperationalError as exc:
        session.rollback()
        if is_busy(exc):
            return Outcome.BUSY
        raise
    except BaseException:
        session.rollback()
        raise
    _LOGGER.info("case %s: %s deadline %s missed by %d days → level %d, notice %s",
                 case_id, kind, deadline, days, level, number)
    return Outcome.DONE


def _pass_lower_rungs(session: Session, case: LockedCase, kind: str, level: int, deadline: date, days: int,
                      today: date, now: datetime) -> list[int]:
    """Record the rungs below `level` not yet taken as passed (a catch-up after downtime sends only the top one).

    The claims use the same unique key as taken rungs, so a rung is passed or taken, once.
    """
    if kind == APPROVAL:
        return []
    passed = []
    for lower in range(case.escalation_level + 1, level):
        values = {"case_id": case.id, "deadline": deadline, "kind": kind, "level": lower, "state": case.state,
                  "overdue_days": days, "notice_number": "", "done_on": today, "done_at": now, "passed": True}
        if _claim(session, Escalation, values, ["case_id", "deadline", "kind", "level"]):
            passed.append(lower)
    return passed


def _take_rung(session: Session, district: District, case: LockedCase, kind: str, level: int, days: int,
               today: date, now: datetime, passed: list[int] | None = None) -> str:
    """Everything a rung writes, inside the caller's transaction, then commit; returns the notice number."""
    conn = session.connection()
    cal = district.work_calendar()
    deadline: date = case.deadline
    system = _system(session)
    point = session.get(Point, case.point_id)
    town = session.get(Township, case.township_id)
    assert point is not None and town is not None
    r = rung(district, kind, level, town)
    kind_zh = KIND_ZH.get(kind, kind)
    state_zh = case_engine(case).state_zh(case.state)
    next_level = level + 1 if kind != APPROVAL and level < MAX_LEVEL else None
    next_on = cal.add(deadline, threshold(district, kind, next_level)) if next_level else None
    if next_on is not None and next_on <= today:  # catching up: the next rung follows at once
        next_level, next_on = None, None
    reply_by = cal.add(today, r.reply_days)  # always after the issue day, never the missed deadline
    unit = "个工作日" if cal.mode == "workdays" else "日"
    reason = (f"{point.name}的{kind_zh}已于{zh_date(deadline)}届满，截至{zh_date(today)}已逾期{days}{unit}，"
              f"案件仍处于「{state_zh}」状态，现启动{r.zh}。")
    failed, major = _last_findings(session, case.id)
    notice = issue_notice(
        session, district, case=case, point=point, township=town, kind=r.notice,  # type: ignore[arg-type]
        actor_name=system.display_name or system.name, today=today, reason=reason, failed=failed, major=major,
        addressee=r.unit, issuer_ref=r.issuer_ref, issuer=r.issuer, cc=list(r.cc), contact=r.contact, actor="",
        level=r.level, level_zh=r.zh, overdue_days=days, missed_deadline=deadline.isoformat(),
        missed_deadline_kind=kind, missed_deadline_kind_zh=kind_zh,
        due_on=cal.add(deadline, threshold(district, kind, level)).isoformat(), reply_by=reply_by.isoformat(),
        reply_days=r.reply_days, previous_levels=_previous_levels(session, district, case.id, deadline, kind, level),
        next_level=next_level, next_level_zh=level_zh(district, next_level) if next_level else None,
        next_level_on=next_on.isoformat() if next_on else None,
    )
    session.flush()  # the notice row exists (whether issue_notice wrote it through the ORM or directly)
    event = CaseEvent(
        case_id=case.id, actor_id=system.id, actor=system.name, role=system.role, trigger="escalate",
        from_state=case.state, to_state=case.state, reason=reason, at=now, notice_number=notice.number,
        data={"level": r.level, "level_zh": r.zh, "missed_deadline": deadline.isoformat(),
              "missed_deadline_kind": kind, "overdue_days": days, "notice": notice.number,
              **({"passed_levels": passed} if passed else {})},
        evidence=[], prev_hash="", hash="",
    )
    case.escalation_level = max(case.escalation_level, r.level)  # bound into the event (its snap)
    event.data = {**event.data, "notice_hash": audit.notice_digest(notice)}
    audit.chain(case, event)  # type: ignore[arg-type]
    values = {c.name: getattr(event, c.name) for c in _EVENT.columns if c.name != "id"}
    event_id = conn.execute(_EVENT.insert().returning(_EVENT.c.id), values).scalar_one()
    conn.execute(_NOTICE.update().where(_NOTICE.c.number == notice.number).values(event_id=event_id))
    updated = conn.execute(_CASE.update().where(_CASE.c.id == case.id, _CASE.c.version == case.version).values(
        escalation_level=case.escalation_level, updated_at=now, last_seq=case.last_seq,
        last_hash=case.last_hash, version=case.version + 1))
    if updated.rowcount != 1:
        raise StaleDataError(f"case {case.id} version {case.version} is stale")
    conn.execute(_ESCALATION.update().where(
        _ESCALATION.c.case_id == case.id, _ESCALATION.c.deadline == deadline, _ESCALATION.c.kind == kind,
        _ESCALATION.c.level == level,
    ).values(state=case.state, overdue_days=days, notice_number=notice.number, event_id=event_id))
    subject = f"【{r.zh}】{point.name}{kind_zh}已逾期{days}{unit}"
    body = (f"{point.name}（{town.name}，案件 {case.id}，地址：{point.address}，举办者：{point.operator}）"
            f"的{kind_zh}已于{zh_date(deadline)}届满，截至{zh_date(today)}已逾期{days}{unit}，"
            f"案件仍处于「{state_zh}」状态。现启动{r.zh}，已发{r.notice.title}（{notice.number}）。{r.todo}")
    if next_on and next_level:
        body += f"至{zh_date(next_on)}仍未办结的，将启动{level_zh(district, next_level)}。"
    body += f"请{r.unit}于{zh_date(reply_by)}前反馈办理结果。"
    recipients = notify.people(session, roles=r.roles, township_id=case.township_id)
    notify.enqueue(session, users=recipients, subject=subject, body=body, case_id=case.id, now=now,
                   key=f"escalate:{case.id}:{deadline.isoformat()}:{kind}:{level}",
                   webhook=district.webhook.enabled)
    session.commit()
    return str(notice.number)


# -- remind ----------------------------------------------------------------------------------


def days_left(cal: WorkCalendar, today: date, deadline: date) -> int:
    return cal.between(today, deadline)


def reminder_due(district: District, case: Case | LockedCase, today: date, days_before: int) -> bool:
    """Whether the `days_before` reminder of the case's running deadline is due on `today`.

    Only the reminder whose day it is counts (no burst of stale ones after downtime), and none
    goes out on the day the deadline was set (its people were told then).
    """
    if case.deadline is None or case.deadline_kind is None or days_before not in district.ladder.reminders:
        return False
    if case.deadline_set_on is not None and case.deadline_set_on >= today:
        return False
    if case_engine(case).spec.state(case.state).terminal:
        return False
    return days_left(district.work_calendar(), today, case.deadline) == days_before


def remind(
    *,
    session: Session,
    district: District,
    case_id: int,
    deadline: date,
    kind: str,
    days_before: int,
    now: datetime | None = None,
    skip_locked: bool = True,
) -> Outcome:
    """Queue the `days_before` reminder of the case's `kind` deadline, once, and commit."""
    now = now or utcnow()
    today = local_today(district, now)
    values = {"case_id": case_id, "deadline": deadline, "kind": kind, "days_before": days_before,
              "sent_on": today, "created_at": now}
    key_cols = ["case_id", "deadline", "kind", "days_before"]
    claim_first = _is_sqlite(session)
    try:
        if claim_first and not _claim(session, Reminder, values, key_cols):
            session.rollback()
            return Outcome.ALREADY
        case = _lock_case(session, case_id, skip_locked=skip_locked, share=True)
        if case is None:
            session.rollback()
            return Outcome.BUSY
        if case.deadline != deadline or case.deadline_kind != kind:
            session.rollback()
            return Outcome.MOVED_ON
        if not reminder_due(district, case, today, days_before):
            session.rollback()
            return Outcome.NOT_DUE
        if not claim_first and not _claim(session, Reminder, values, key_cols):
            session.rollback()
            return Outcome.ALREADY
        _send_reminder(session, district, case, days_before, today, now)
    except IntegrityError:
        session.rollback()
        return Outcome.BUSY
    except OperationalError as exc:
        session.rollback()
        if is_busy(exc):
            return Outcome.BUSY
        raise
    except BaseException:
        session.rollback()
        raise
    _LOGGER.info("case %s: reminder %d days before the %s deadline %s", case_id, days_before, kind, deadline)
    return Outcome.DONE


def reminder_key(case_id: int, deadline: date, kind: str, days_before: int) -> str:
    """The outbox key of a reminder: `remind:<case>:<deadline>:<kind>:<days>`."""
    return f"remind:{case_id}:{deadline.isoformat()}:{kind}:{days_before}"


def parse_reminder_key(dedupe_key: str) -> tuple[int, date, str] | None:
    """(case id, deadline, kind) of a reminder message's dedupe key; None for other messages."""
    parts = dedupe_key.split(":")
    if len(parts) < 5 or parts[0] != "remind":
        return None
    try:
        return int(parts[1]), date.fromisoformat(parts[2]), parts[3]
    except ValueError:
        return None


def deciders(case: Case | LockedCase) -> list[str]:
    """The roles that decide a case awaiting approval, from its declaration (the bureau, or the committee)."""
    spec = case_engine(case).spec
    proposers = {r.value for t in spec.transitions if t.dest == case.state and t.proposes for r in t.roles}
    deciding = {r.value for t in spec.transitions if case.state in t.sources and not t.hidden
                and t.dest not in (PREVIOUS, SAME) for r in t.roles}
    return sorted(deciding - proposers - {Role.SYSTEM.value}) or ["reviewer"]


def _send_reminder(session: Session, district: District, case: LockedCase, days_before: int, today: date,
                   now: datetime) -> None:
    kind = case.deadline_kind
    point = session.get(Point, case.point_id)
    town = session.get(Township, case.township_id)
    assert point is not None and town is not None
    kind_zh = KIND_ZH.get(kind, kind)
    unit = "个工作日" if district.deadlines.calendar == "workdays" else "天"
    state_zh = case_engine(case).state_zh(case.state)
    subject = f"【期限提醒】{point.name}{kind_zh}还剩{days_before}{unit}（{zh_date(case.deadline)}）"
    body = (f"{point.name}（{town.name}，案件 {case.id}，地址：{point.address}，举办者：{point.operator}）"
            f"当前处于「{state_zh}」状态，{kind_zh}为{zh_date(case.deadline)}，还剩{days_before}{unit}。"
            f"{REMINDER_TODO.get(kind, '请按期办理。')}")
    if kind == APPROVAL:  # the deciders get one daily digest of their queue instead (cases.digest)
        session.commit()
        return
    roles = ["inspector"]
    recipients = notify.people(session, roles=roles, township_id=case.township_id)
    notify.enqueue(session, users=recipients, subject=subject, body=body, case_id=case.id, now=now,
                   key=reminder_key(case.id, case.deadline, kind, days_before))
    session.commit()


