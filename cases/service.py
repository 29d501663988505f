"""The one place that changes a case: `advance` (and `open_case`, which creates one).

`advance` loads the case with its version (row-locked where the database can), checks the
actor's scope, role and the workflow's guards, applies the transition, writes the
inspection, the notice record, the hash-chained audit event and the notifications, and
commits: all in one transaction. A stale version raises `Conflict` and writes nothing.
Web, CLI and scheduler all call it; none of them writes a state column.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from cases import audit, notify
from cases.config import District
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.models import Case, CaseEvent, Inspection, Notice, Point, Township, User, utcnow
from cases.numbering import format_number, next_seq
from cases.queries import get_case, rectification_engine, township_by_code
from workflow.engine import Step
from workflow.notices import NoticeKind
from workflow.spec import DeadlineRule, Request, Role

_LOGGER = logging.getLogger(__name__)

LEVEL_ZH = {0: "提醒", 1: "镇街督办", 2: "区教育局督办", 3: "挂牌督办"}
SOURCES = ("registry", "complaint", "patrol")
NO_NEW_DEADLINE = (DeadlineRule.KEEP, DeadlineRule.CLEAR, DeadlineRule.RESTORE)


@dataclass(frozen=True)
class Action:
    """What the actor asks for, as typed in a form or on the command line."""

    trigger: str
    reason: str = ""
    failed: tuple[str, ...] = ()
    major: tuple[str, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)
    target: str = ""
    evidence: tuple[str, ...] = ()  # content hashes of uploaded files
    expected_version: int | None = None
    data: dict[str, Any] = field(default_factory=dict)  # extra facts for the event (e.g. ladder level)


@dataclass(frozen=True)
class Result:
    case: Case
    event: CaseEvent
    step: Step
    notices: list[Notice]


def local_today(district: District, now: datetime) -> date:
    return now.astimezone(ZoneInfo(district.district.timezone)).date()


def _check_items(district: District, action: Action, inspection: bool) -> None:
    codes = set(action.failed) | set(action.major)
    if not codes:
        return
    if not inspection:
        raise InvalidInput(f"操作 {action.trigger} 不带检查结果，不能使用 --fail/--major",
                           f"{action.trigger} takes no checklist results (--fail/--major)")
    unknown = sorted(c for c in codes if district.item(c) is None)
    if unknown:
        valid = "、".join(c.code for c in district.checklist)
        raise InvalidInput(f"检查项目编码不存在：{'、'.join(unknown)}（可用：{valid}）",
                           f"unknown checklist codes: {', '.join(unknown)} (valid: {valid})")
    both = set(action.failed) & set(action.major)
    if both:
        raise InvalidInput(f"同一项目不能同时为 --fail 和 --major：{'、'.join(sorted(both))}",
                           f"an item cannot be both --fail and --major: {', '.join(sorted(both))}")


def advance(
    *,
    session: Session,
    district: District,
    case_id: int,
    actor: User,
    action: Action,
    now: datetime | None = None,
) -> Result:
    """Fire `action.trigger` on the case as `actor`, in one transaction, and commit."""
    now = now or utcnow()
    today = local_today(district, now)
    eng = rectification_engine()
    policy = district.policy()
    try:
        case = get_case(session, user=actor, case_id=case_id, for_update=True)
        if action.expected_version is not None and case.version != action.expected_version:
            raise Conflict(
                f"案件 {case_id} 已被他人修改（版本 {case.version}，您看到的是 {action.expected_version}），请刷新后重试",
                f"case {case_id} changed meanwhile (version {case.version}, you had {action.expected_version}); "
                "reload and retry",
            )
        with session.no_autoflush:
            spec = eng.transition(action.trigger, case.state)
            _check_items(district, action, spec.inspection if spec else True)
            request = Request(
                trigger=action.trigger, role=actor.role, actor_id=actor.id, reason=action.reason,
                failed=frozenset(action.failed), major=frozenset(action.major), target=action.target,
                today=today,
            )
            old_deadline = (case.deadline, case.deadline_kind)
            step = eng.fire(case, request, policy, district.work_calendar())  # type: ignore[arg-type]
            if (case.deadline, case.deadline_kind) != old_deadline:
                case.escalation_level = 0
                case.deadline_set_on = today if step.spec.deadline not in NO_NEW_DEADLINE else case.deadline_set_on
            if step.spec.proposes:
                case.proposal_reason = action.reason
                if action.target:
                    case.target = action.target
            case.updated_at = now
            event = CaseEvent(
                case_id=case_id, actor_id=actor.id, actor=actor.name, role=actor.role, trigger=action.trigger,
                from_state=step.source, to_state=step.dest, reason=action.reason,
                evidence=list(action.evidence), at=now, prev_hash="", hash="",
                data={k: v for k, v in {
                    "failed": sorted(action.failed), "major": sorted(action.major), "target": action.target,
                    "round": case.round, "deadline": case.deadline.isoformat() if case.deadline else None,
                    **action.data,
                }.items() if v not in (None, "", [])},
            )
            inspection = None
            if step.spec.inspection:
                results = {c.code: "pass" for c in district.checklist}
                results.update({c: "fail" for c in action.failed})
                results.update({c: "major" for c in action.major})
                inspection = Inspection(case_id=case_id, inspector_id=actor.id, trigger=action.trigger,
                                        round=case.round, results=results, notes=dict(action.notes), at=now)
                session.add(inspection)
            notices: list[Notice] = []
            if step.notice is not None:
                notices.append(_issue_notice(session, district, case, step.notice, actor, action, today))
                event.notice_number = notices[0].number
            audit.chain(case, event)
            session.add(case)
            session.add(event)
        session.flush()  # one UPDATE of the case, guarded by its version
        for n in notices:
            n.event_id = event.id
        _notify(session, district, case, step, event, actor, now)
        session.commit()
    except (StaleDataError, IntegrityError) as exc:
        session.rollback()
        raise Conflict(f"案件 {case_id} 已被他人同时修改，本次操作未保存，请重试",
                       f"case {case_id} was changed concurrently; nothing was saved, retry") from exc
    except OperationalError as exc:
        session.rollback()
        if "locked" in str(exc.orig).lower() or "could not serialize" in str(exc.orig).lower():
            raise Conflict(f"案件 {case_id} 正被他人修改，本次操作未保存，请重试",
                           f"case {case_id} is being changed by someone else; nothing was saved, retry") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    _LOGGER.info("case %s: %s --%s--> %s by %s", case_id, step.source, action.trigger, step.dest, actor.name)
    return Result(case=case, event=event, step=step, notices=notices)


# -- notices ---------------------------------------------------------------------------------


def _issue_notice(session: Session, district: District, case: Case, kind: NoticeKind, actor: User,
                  action: Action, today: date, **extra: Any) -> Notice:
    point = session.get(Point, case.point_id)
    town = session.get(Township, case.township_id)
    assert point is not None and town is not None
    return issue_notice(session, district, case=case, point=point, township=town, kind=kind,
                        actor_name=actor.display_name or actor.name, reason=action.reason,
                        failed=action.failed, major=action.major, notes=action.notes, today=today, **extra)


def issue_notice(
    session: Session,
    district: District,
    *,
    case: Case,
    point: Point,
    township: Township,
    kind: NoticeKind,
    actor_name: str,
    today: date,
    reason: str = "",
    failed: tuple[str, ...] = (),
    major: tuple[str, ...] = (),
    notes: dict[str, str] | None = None,
    addressee: str | None = None,
    **extra: Any,
) -> Notice:
    """Create a notice record with the next gap-free number, in the caller's transaction."""
    info = district.district
    year = today.year
    seq = next_seq(session, district=info.code, kind=kind.value, year=year)
    number = format_number(district.notices.prefixes[kind.value], year, seq)
    town_cfg = district.township(township.code)
    township_unit = town_cfg.unit if town_cfg else township.name
    notes = notes or {}
    items = []
    for code, result in [*((c, "fail") for c in failed), *((c, "major") for c in major)]:
        item = district.item(code)
        if item is None:
            continue
        items.append({"code": code, "title": item.title, "category": item.category, "severity": item.severity,
                      "result": result, "requirement": item.requirement, "basis": item.basis,
                      "note": notes.get(code, "")})
    items.sort(key=lambda i: i["code"])
    eng = rectification_engine()
    days = None
    if case.deadline and case.deadline_set_on:
        days = district.work_calendar().between(case.deadline_set_on, case.deadline)
    addressee = addressee or f"{point.name}（举办者：{point.operator}）"
    data: dict[str, Any] = {
        "title": kind.title,
        "number": number,
        "issued_on": today.isoformat(),
        "issuer": info.bureau,
        "addressee": addressee,
        "point": {"name": point.name, "address": point.address, "operator": point.operator,
                  "phone": point.phone, "township": township.name, "township_code": township.code,
                  "registered_on": point.registered_on.isoformat()},
        "case_id": case.id,
        "round": case.round,
        "round_max": district.rounds.max,
        "state": case.state,
        "state_zh": eng.state_zh(case.state),
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "deadline_days": days,
        "deadline_calendar": district.deadlines.calendar,
        "items": items,
        "reason": reason,
        "target": case.target,
        "township_unit": township_unit,
        "actor": actor_name,
        "contact": info.contact,
        **extra,
    }
    notice = Notice(number=number, district=info.code, kind=kind.value, year=year, seq=seq, case_id=case.id,
                    addressee=addressee, issuer=info.bureau, data=data, issued_on=today)
    session.add(notice)
    return notice


# -- notifications ---------------------------------------------------------------------------


def _notify(session: Session, district: District, case: Case, step: Step, event: CaseEvent, actor: User,
            now: datetime) -> None:
    """Tell the people who must act next (in the same transaction as the event)."""
    eng = rectification_engine()
    point = session.get(Point, case.point_id)
    name = point.name if point else f"案件 {case.id}"
    key = f"event:{case.id}:{event.seq}"
    dest_zh = eng.state_zh(step.dest)
    deadline = f"，期限 {case.deadline.isoformat()}" if case.deadline else ""
    subject = f"【{dest_zh}】{name}"
    body = (f"{name}（案件 {case.id}）：{actor.display_name or actor.name}执行「{step.spec.zh}」，"
            f"状态由「{eng.state_zh(step.source)}」变为「{dest_zh}」{deadline}。")
    if event.reason:
        body += f"理由：{event.reason}。"
    recipients: list[User] = []
    if eng.spec.state(step.dest).proposal:
        recipients = notify.people(session, roles=["reviewer"])
        body += f"请在 {case.deadline.isoformat() if case.deadline else '期限内'} 前审核。"
    elif step.trigger == "suspend":
        recipients = notify.people(session, roles=["reviewer", "lead"], township_id=case.township_id)
        body += "因存在重大安全隐患已责令停止办园，请区教育局及时审查。"
    if step.trigger in ("approve", "send_back"):
        # the inspectors of the township learn the bureau's decision
        recipients = notify.people(session, roles=["inspector"], township_id=case.township_id)
    recipients = [u for u in recipients if u.id != actor.id]
    if recipients:
        notify.enqueue(session, users=recipients, subject=subject, body=body, key=key, case_id=case.id,
                       webhook=district.webhook.enabled and step.trigger == "suspend", now=now)


# -- opening cases ---------------------------------------------------------------------------


def open_case(
    *,
    session: Session,
    district: District,
    actor: User,
    name: str,
    township_code: str,
    address: str,
    operator: str,
    phone: str = "",
    registered_on: date | None = None,
    source: str = "registry",
    now: datetime | None = None,
) -> Case:
    """Register a point and open its case (state `registered`), with the first audit event."""
    now = now or utcnow()
    today = local_today(district, now)
    for label, value in (("名称 name", name), ("地址 address", address), ("举办者 operator", operator)):
        if not value or not value.strip():
            raise InvalidInput(f"{label.split()[0]}不能为空", f"{label.split()[1]} must not be empty")
    if source not in SOURCES:
        raise InvalidInput(f"来源须为 {'、'.join(SOURCES)}", f"source must be one of {', '.join(SOURCES)}")
    if actor.role not in (Role.INSPECTOR, Role.REVIEWER, Role.ADMIN):
        raise NotAllowed(f"{Role(actor.role).zh}不能登记托幼点", f"role {actor.role} cannot register points")
    town = township_by_code(session, township_code)
    if actor.role == Role.INSPECTOR and actor.township_id != town.id:
        raise NotFound(f"镇街 {township_code} 不在您的辖区", f"township {township_code} is not yours")
    registered_on = registered_on or today
    if registered_on > today:
        raise InvalidInput("登记日期不能晚于今天", "registered-on date cannot be in the future")
    try:
        point = Point(name=name.strip(), township_id=town.id, address=address.strip(),  # type: ignore[arg-type]
                      operator=operator.strip(), phone=phone.strip(), registered_on=registered_on,
                      source=source, created_at=now)
        session.add(point)
        session.flush()
        case = Case(point_id=point.id, township_id=town.id, registered_on=registered_on,  # type: ignore[arg-type]
                    opened_at=now, updated_at=now)
        session.add(case)
        session.flush()
        assert case.id is not None
        ev = CaseEvent(case_id=case.id, actor_id=actor.id, actor=actor.name, role=actor.role, trigger="open",
                       from_state="", to_state=case.state, reason="", at=now, prev_hash="", hash="",
                       data={"point": point.name, "source": source, "registered_on": registered_on.isoformat()})
        audit.chain(case, ev)
        session.add(ev)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return case
