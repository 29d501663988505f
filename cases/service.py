"""The one place that changes a case: `advance` (and `open_case`, which creates one).

`advance` loads the case with its version (row-locked where the database can), checks the
actor's scope, role and the workflow's guards, applies the transition, writes the
inspection, the notice record, the hash-chained audit event and the notifications, and
commits: all in one transaction. A stale version raises `Conflict` and writes nothing.
Web, CLI and scheduler all call it; none of them writes a state column.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session

from cases import audit, notify, registry, supervision_replies
from cases.config import District
from cases.db import is_busy
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.facts import workflow_facts
from cases.models import Case, CaseEvent, Escalation, Inspection, Notice, Point, Township, User, utcnow
from cases.numbering import take_number
from cases.queries import case_engine, case_not_found, sees_all, township_by_code
from cases.statements import Prepared
from cases.validation import check_date, clean_codes, clean_hashes, clean_notes, clean_text, in_id_range
from workflow.engine import Step
from workflow.notices import TO_TOWNSHIP, NoticeKind
from workflow.registry import current as current_workflow
from workflow.spec import DeadlineRule, Request, Role

_LOGGER = logging.getLogger(__name__)

LEVEL_ZH = {0: "提醒", 1: "镇街督办", 2: "区教育局督办", 3: "挂牌督办"}
SOURCES = ("registry", "complaint", "patrol", "estate")
POINT_KINDS = {"rectification": "childcare_point", "designation": "estate_kindergarten"}  # what a case is about
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
    # an explicit inspection (the web's checklist): every item's result, pass / fail / major / na,
    # and photos per item; when given, failed and major are read from it and nothing is assumed
    results: dict[str, str] = field(default_factory=dict)
    item_evidence: dict[str, tuple[str, ...]] = field(default_factory=dict)


RESULTS = ("pass", "fail", "major", "na")


def explicit_results(district: District, action: Action) -> Action:
    """The action with failed / major read from its explicit results, after checking them whole.

    Every checklist item must have a result (nothing is assumed to pass), every code must be
    known, and `failed` / `major` may not be given beside the results.
    """
    if not action.results:
        return action
    if action.failed or action.major:
        raise InvalidInput("检查结果已逐项给出，不能再另列不合格项目", "give either per-item results or failed/major",
                           cli="--fail/--major")
    unknown = sorted(c for c in action.results if district.item(c) is None)
    if unknown:
        raise InvalidInput(f"检查项目编码不存在：{'、'.join(unknown)}",
                           f"unknown checklist codes: {', '.join(unknown)}")
    bad = sorted(c for c, r in action.results.items() if r not in RESULTS)
    if bad:
        raise InvalidInput(f"检查项目 {'、'.join(bad)} 的结果无效", f"invalid result for items {', '.join(bad)}")
    missing = [c for c in district.checklist if c.code not in action.results]
    if missing:
        names = "、".join(f"{c.code} {c.title}" for c in missing)
        raise InvalidInput(f"以下检查项目尚未标记结果：{names}", f"unmarked checklist items: "
                           f"{', '.join(c.code for c in missing)}")
    stray = sorted(set(action.item_evidence) - set(action.results))
    if stray:
        raise InvalidInput(f"照片所属的检查项目不存在：{'、'.join(stray)}",
                           f"photos for unknown items: {', '.join(stray)}")
    return replace(action, failed=tuple(c for c, r in action.results.items() if r == "fail"),
                   major=tuple(c for c, r in action.results.items() if r == "major"))


@dataclass(frozen=True)
class Result:
    case: WorkingCase
    event: audit.NewEvent
    step: Step
    notices: list[Notice]

    def summary(self) -> dict[str, Any]:
        """What the faces report back after a transition (CLI `--json`, API response)."""
        c = self.case
        return {"case_id": c.id, "trigger": self.step.trigger, "from": self.step.source, "to": self.step.dest,
                "from_zh": case_engine(c).state_zh(self.step.source),
                "state_zh": case_engine(c).state_zh(c.state), "version": c.version, "round": c.round,
                "deadline": c.deadline, "notices": [n.number for n in self.notices], "event_hash": self.event.hash}


def local_today(district: District, now: datetime) -> date:
    return now.astimezone(ZoneInfo(district.district.timezone)).date()


def clean_action(district: District, action: Action) -> Action:
    """The action with its typed fields checked by the one input policy (`cases.validation`).

    A reason of only blank or invisible characters becomes "" so the reason guard refuses it.
    """
    return replace(
        action,
        trigger=clean_text("trigger", action.trigger),
        reason=clean_text("reason", action.reason),
        target=clean_text("target", action.target),
        failed=clean_codes("--fail", action.failed),
        major=clean_codes("--major", action.major),
        notes=clean_notes(action.notes, (c.code for c in district.checklist)),
        evidence=clean_hashes(action.evidence),
        item_evidence={str(c)[:32]: clean_hashes(h) for c, h in action.item_evidence.items()},
    )


def _check_items(district: District, action: Action, inspection: bool, zh: str = "") -> None:
    codes = set(action.failed) | set(action.major)
    if not codes and not action.results:
        return
    if not inspection:
        zh = zh or action.trigger
        raise InvalidInput(f"「{zh}」不带检查结果", f"{action.trigger} takes no checklist results (--fail/--major)",
                           cli=f"{action.trigger}：--fail/--major")
    unknown = sorted(c for c in codes if district.item(c) is None)
    if unknown:
        valid = "、".join(c.code for c in district.checklist)
        raise InvalidInput(f"检查项目编码不存在：{'、'.join(unknown)}（可用：{valid}）",
                           f"unknown checklist codes: {', '.join(unknown)} (valid: {valid})")
    both = set(action.failed) & set(action.major)
    if both:
        raise InvalidInput(f"同一项目不能同时为不合格和重大隐患：{'、'.join(sorted(both))}",
                           f"an item cannot be both --fail and --major: {', '.join(sorted(both))}",
                           cli="--fail、--major")


CASE = Case.__table__  # type: ignore[attr-defined]
EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
INSPECTION = Inspection.__table__  # type: ignore[attr-defined]
NOTICE = Notice.__table__  # type: ignore[attr-defined]


POINT, TOWNSHIP = Point.__table__, Township.__table__  # type: ignore[attr-defined]
# The case row, locked, with its point and township (for notices and messages) in the same SELECT.
_LOAD_CASE = Prepared(
    sa.select(CASE, *(c.label(f"_p_{c.name}") for c in POINT.columns), TOWNSHIP.c.code.label("_t_code"),
              TOWNSHIP.c.name.label("_t_name"))
    .join(POINT, POINT.c.id == CASE.c.point_id)
    .join(TOWNSHIP, TOWNSHIP.c.id == POINT.c.township_id)
    .where(CASE.c.id == sa.bindparam("case_id"))
    .with_for_update(of=CASE)
)
ESCALATION = Escalation.__table__  # type: ignore[attr-defined]
_CLAIMED_LEVEL = sa.select(sa.func.max(ESCALATION.c.level)).where(
    ESCALATION.c.case_id == sa.bindparam("case_id"), ESCALATION.c.deadline == sa.bindparam("deadline"),
    ESCALATION.c.kind == sa.bindparam("kind"))
_INSERT_EVENT = Prepared(EVENT.insert().returning(EVENT.c.id))
_INSERT_INSPECTION = Prepared(INSPECTION.insert().returning(INSPECTION.c.id))
_INSERT_NOTICE = Prepared(NOTICE.insert().returning(NOTICE.c.id))
_UPDATE_CASE = Prepared(CASE.update().where(CASE.c.id == sa.bindparam("_id"),
                                            CASE.c.version == sa.bindparam("_version")))


class WorkingCase:
    """A case row read for one transaction: plain attributes the engine may change cheaply.

    The service writes back only the columns that changed, with `WHERE version = <read>`.
    """

    def __init__(self, row: Mapping[str, Any]) -> None:
        columns = {k: v for k, v in row.items() if k[0] != "_"}
        self.__dict__.update(columns)
        self._original = columns
        if "_t_code" in row:  # read together with its point and township (`_LOAD_CASE`)
            point = PointView(**{k[3:]: v for k, v in row.items() if k.startswith("_p_")})
            self._point = (point, TownView(id=point.township_id, code=row["_t_code"], name=row["_t_name"]))

    def __getattr__(self, name: str) -> Any:  # only for type checkers: columns are set in __init__
        raise AttributeError(name)

    def changes(self) -> dict[str, Any]:
        """The columns that changed (facts set for the guards, such as `public_share`, are not columns)."""
        return {k: self.__dict__[k] for k, v in self._original.items() if self.__dict__[k] != v}

    def point_and_township(self, session: Session) -> tuple[PointView, TownView]:
        """The case's point and township, read once per transaction."""
        if "_point" not in self.__dict__:
            self._point = point_and_township(session, self.point_id)
        return self._point  # type: ignore[no-any-return]


def claimed_level(session: Session, *, case_id: int, deadline: date, kind: str) -> int:
    """The highest rung of the supervision ladder already taken for this deadline of the case (0 if none).

    `escalation_level` is reset when the running deadline changes; when a proposal is sent back and
    the earlier deadline is restored, this tells the level that deadline had reached.
    """
    row = session.connection().execute(_CLAIMED_LEVEL, {"case_id": case_id, "deadline": deadline, "kind": kind})
    return int(row.scalar() or 0)


def load_case(session: Session, *, user: User, case_id: int) -> WorkingCase:
    """Read the case for changing it: row-locked where the database can, scoped to the user."""
    if not in_id_range(case_id):
        raise case_not_found(case_id)
    rows = _LOAD_CASE.mappings(session.connection(), {"case_id": case_id})
    row = rows[0] if rows else None
    if row is None or not (sees_all(user) or (user.township_id is not None and row["township_id"] == user.township_id)):
        raise case_not_found(case_id)
    return WorkingCase(row)


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
    policy = district.policy()
    action = clean_action(district, action)
    conn = session.connection()
    action = explicit_results(district, action)
    try:
        case = load_case(session, user=actor, case_id=case_id)
        eng = case_engine(case)
        if action.expected_version is not None and case.version != action.expected_version:
            raise Conflict(
                f"案件 {case_id} 已被他人修改（版本 {case.version}，您看到的是 {action.expected_version}），"
                "请刷新后重试",
                f"case {case_id} changed meanwhile (version {case.version}, you had {action.expected_version}); "
                "reload and retry",
            )
        spec = eng.transition(action.trigger, case.state)
        _check_items(district, action, spec.inspection if spec else True, spec.zh if spec else "")
        request = Request(
            trigger=action.trigger, role=actor.role, actor_id=actor.id, reason=action.reason,
            failed=frozenset(action.failed), major=frozenset(action.major), target=action.target,
            today=today,
        )
        facts = workflow_facts(session, district, case, request)
        for name, value in facts.items():  # what the guards read besides the case row (not columns)
            setattr(case, name, value)
        old_deadline = (case.deadline, case.deadline_kind)
        step = eng.fire(case, request, policy, district.work_calendar())  # type: ignore[arg-type]
        if (case.deadline, case.deadline_kind) != old_deadline:
            case.escalation_level = 0
            if step.spec.deadline not in NO_NEW_DEADLINE:
                case.deadline_set_on = today
            elif step.spec.deadline is DeadlineRule.RESTORE and case.deadline is not None:
                # a restored deadline keeps the rung of the ladder it had already reached (the rungs were
                # claimed under the deadline as it stood before the clock stopped for the bureau)
                case.escalation_level = claimed_level(session, case_id=case_id,
                                                      deadline=step.restored_from or case.deadline,
                                                      kind=case.deadline_kind or "")
        if step.spec.proposes:
            case.proposal_reason = action.reason
            if action.target:
                case.target = action.target
        case.updated_at = now
        bound: dict[str, Any] = {}  # the rows this event creates, bound into its hash
        if step.spec.inspection:
            results = {c.code: "pass" for c in district.checklist}
            results.update(action.results)
            results.update({c: "fail" for c in action.failed})
            results.update({c: "major" for c in action.major})
            inspection = {"case_id": case_id, "inspector_id": actor.id, "trigger": action.trigger,
                          "round": case.round, "results": results, "notes": dict(action.notes)}
            inspection_id = _INSERT_INSPECTION.scalar(conn, {
                **inspection, "at": now,
                "evidence": {c: list(h) for c, h in action.item_evidence.items() if h}})
            bound["inspection"] = {"id": inspection_id, "hash": audit.inspection_digest(inspection)}
        notice_rows: list[dict[str, Any]] = []
        # 督办反馈: the report answers every 督办通知书 of the case still awaiting a reply
        answering = (supervision_replies.open_notices(session, district, case_id)
                     if step.trigger == "report_progress" else [])
        if step.notice is not None:
            notice_rows.append(_notice_values(session, district, case, step.notice, actor, action, today, **facts))
        event = audit.NewEvent(
            case_id=case_id, actor_id=actor.id, actor=actor.name, role=actor.role, trigger=action.trigger,
            from_state=step.source, to_state=step.dest, reason=action.reason,
            evidence=list(action.evidence), at=now, notice_number=notice_rows[0]["number"] if notice_rows else "",
            data={k: v for k, v in {
                "failed": sorted(action.failed), "major": sorted(action.major), "target": action.target,
                "not_applicable": sorted(c for c, r in action.results.items() if r == "na"),
                "item_evidence": {c: list(h) for c, h in action.item_evidence.items() if h},
                "round": case.round, "deadline": case.deadline.isoformat() if case.deadline else None,
                **facts,
                # a send-back: the deadline before the proposal and the working days the bureau took
                "deadline_before": step.restored_from.isoformat() if step.paused_days and step.restored_from else None,
                "paused_days": step.paused_days or None,
                "answers": [n.notice_number for n in answering],
                **action.data,
            }.items() if v not in (None, "", [])},
        )
        if notice_rows:
            bound["notice_hash"] = audit.notice_digest(SimpleNamespace(**notice_rows[0]))
        event.data.update(bound)
        audit.chain(case, event)
        event.id = _INSERT_EVENT.scalar(conn, event.values())
        # the notice row is written after its event, so it carries the event's id from the start
        notices = [insert_notice(session, values, event_id=event.id) for values in notice_rows]
        if step.trigger == "report_progress":
            supervision_replies.mark_answered(session, answering, event.id)
            point, _town = case.point_and_township(session)
            supervision_replies.notify_answered(
                session, case_id=case_id, township_id=case.township_id, point_name=point.name, answered=answering,
                actor_name=actor.display_name or actor.name, reason=action.reason,
                key=f"event:{case_id}:{event.seq}", now=now)
        changes = case.changes()
        changes["version"] = case.version + 1
        if _UPDATE_CASE.rowcount(conn, {**changes, "_id": case_id, "_version": case.version}) != 1:
            raise StaleDataError(f"case {case_id} version {case.version} is stale")
        case.version += 1
        _notify(session, district, case, step, event, actor, now)
        session.commit()
    except (StaleDataError, IntegrityError) as exc:
        session.rollback()
        raise Conflict(f"案件 {case_id} 已被他人同时修改，本次操作未保存，请重试",
                       f"case {case_id} was changed concurrently; nothing was saved, retry") from exc
    except OperationalError as exc:
        session.rollback()
        if is_busy(exc):
            raise Conflict(f"案件 {case_id} 正被他人修改，本次操作未保存，请重试",
                           f"case {case_id} is being changed by someone else; nothing was saved, retry") from exc
        raise
    except BaseException:
        session.rollback()
        raise
    _LOGGER.info("case %s: %s --%s--> %s by %s", case_id, step.source, action.trigger, step.dest, actor.name)
    return Result(case=case, event=event, step=step, notices=notices)


# -- notices ---------------------------------------------------------------------------------


def _notice_values(session: Session, district: District, case: WorkingCase, kind: NoticeKind, actor: User,
                   action: Action, today: date, **extra: Any) -> dict[str, Any]:
    point, town = case.point_and_township(session)
    if actor.role == Role.COMMITTEE:  # a decision of the committee is issued in its name, with its 文号
        extra.setdefault("issuer_ref", "committee")
        extra.setdefault("contact", district.unit_contact("committee"))
    return notice_values(session, district, case=case, point=point, township=town, kind=kind,
                         actor_name=actor.display_name or actor.name, reason=action.reason,
                         failed=action.failed, major=action.major, notes=action.notes, today=today, **extra)


_INSERT_POINT = Prepared(POINT.insert().returning(POINT.c.id))
_INSERT_CASE = Prepared(CASE.insert().returning(*CASE.c))
_POINT_AND_TOWN = (
    sa.select(POINT, TOWNSHIP.c.code.label("t_code"), TOWNSHIP.c.name.label("t_name"))
    .join(TOWNSHIP, TOWNSHIP.c.id == POINT.c.township_id)
    .where(POINT.c.id == sa.bindparam("point_id"))
)


class PointView(SimpleNamespace):
    """A point row as plain values, read for one transaction (notices, messages); not session-bound."""

    id: int
    name: str
    township_id: int
    address: str
    operator: str
    phone: str
    registered_on: date


class TownView(SimpleNamespace):
    """A township's id, code and name, read with its point."""

    id: int
    code: str
    name: str


def point_and_township(session: Session, point_id: int) -> tuple[PointView, TownView]:
    """The point and its township, read lightly (one SELECT, plain values) for notices and messages."""
    row = dict(session.connection().execute(_POINT_AND_TOWN, {"point_id": point_id}).mappings().one())
    town = TownView(id=row["township_id"], code=row.pop("t_code"), name=row.pop("t_name"))
    return PointView(**row), town


def issue_notice(session: Session, district: District, **kw: Any) -> Notice:
    """Create a notice record with the next gap-free number, in the caller's transaction.

    Takes the arguments of `notice_values`; the caller links it to its event (`event_id`) later.
    """
    return insert_notice(session, notice_values(session, district, **kw))


def insert_notice(session: Session, values: dict[str, Any], *, event_id: int | None = None) -> Notice:
    """Write a notice record from `notice_values` (with the id of the event that issued it, when known)."""
    values = {**values, "event_id": event_id}
    notice_id = _INSERT_NOTICE.scalar(session.connection(), values)
    return Notice.model_construct(id=notice_id, **values)


def notice_values(
    session: Session,
    district: District,
    *,
    case: Case | WorkingCase,
    point: Point | PointView,
    township: Township | TownView,
    kind: NoticeKind,
    actor_name: str,
    today: date,
    reason: str = "",
    failed: tuple[str, ...] = (),
    major: tuple[str, ...] = (),
    notes: dict[str, str] | None = None,
    addressee: str | None = None,
    issuer_ref: str = "bureau",
    issuer: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The columns of a new notice record, taking the next gap-free number in the caller's transaction.

    `issuer_ref` is the body that issues it, as the district file names it (the bureau unless said
    otherwise, e.g. the committee's 挂牌督办): the 文号 is taken from that body's series. `issuer` is
    its name as printed (the district's name of `issuer_ref` when not given).
    """
    info = district.district
    issuer = issuer or district.unit_name(issuer_ref) or info.bureau
    year = today.year
    taken = take_number(session, district, kind=kind.value, issuer_ref=issuer_ref, year=year)
    number = taken.text
    town_cfg = district.township(township.code)
    township_unit = town_cfg.unit if town_cfg else township.name
    notes = notes or {}
    from cases.recitals import FINDINGS_KINDS, case_reason, last_findings, legal_context

    if kind.value in FINDINGS_KINDS and not failed and not major and case.id is not None:
        failed, major = last_findings(session, case.id)  # the facts found at the last inspection
    if kind.value in FINDINGS_KINDS and not reason.strip():
        reason = case_reason(session, case, kind.value)  # the specific reason given in the case
    extra = {**legal_context(session, district, case.id, kind.value), **extra}  # law, history, evidence
    items = []
    for code, result in [*((c, "fail") for c in failed), *((c, "major") for c in major)]:
        item = district.item(code)
        if item is None:
            continue
        items.append({"code": code, "title": item.title, "category": item.category, "severity": item.severity,
                      "result": result, "requirement": item.requirement, "basis": item.basis,
                      "note": notes.get(code, ""),
                      # the district's words, kept with the notice so a re-render reads as issued
                      "result_zh": district.result_zh(result), "severity_zh": district.severity_zh(item.severity),
                      "severity_label": district.vocabulary.severity_label})
    items.sort(key=lambda i: i["code"])
    eng = case_engine(case)
    days = None
    if case.deadline and case.deadline_set_on:
        days = district.work_calendar().between(case.deadline_set_on, case.deadline)
    if addressee is None:
        addressee = township_unit if kind in TO_TOWNSHIP else f"{point.name}（举办者：{point.operator}）"
    data: dict[str, Any] = {
        "title": kind.title,
        "number": number,
        "issued_on": today.isoformat(),
        "issuer": issuer,
        "issuer_ref": issuer_ref,
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
        "contact": district.unit_contact(issuer_ref),
        **extra,
    }
    values = {"number": number, "district": info.code, "kind": kind.value, "series": taken.series, "year": year,
              "seq": taken.seq, "case_id": case.id, "addressee": addressee, "issuer": issuer, "data": data,
              "issued_on": today,
              "content_hash": "", "verify_code": "", "pdf_sha256": "", "pdf_path": "", "created_at": utcnow()}
    return values


# -- notifications ---------------------------------------------------------------------------


def _zh_day(day: date | None) -> str:
    """2026年11月30日: messages write dates the way the pages do."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def _notify(session: Session, district: District, case: WorkingCase, step: Step, event: audit.NewEvent, actor: User,
            now: datetime) -> None:
    """Tell the people who must act next (in the same transaction as the event)."""
    eng = case_engine(case)
    if eng.spec.state(step.dest).proposal:
        roles, town, todo = ["reviewer"], None, f"请在{_zh_day(case.deadline) or '期限内'}前审核。"
    elif step.trigger == "suspend":
        roles, town = ["reviewer", "lead"], case.township_id
        todo = "因存在重大安全隐患已责令停止办园，请区教育局及时审查。"
    elif step.trigger == "send_back":
        _notify_send_back(session, district, case, step, event, actor, now)
        return
    elif step.trigger == "report_progress":
        return  # told by the service with the notices it answered (supervision_replies.notify_answered)
    elif step.trigger == "approve":
        roles, town, todo = ["inspector"], case.township_id, "请按区教育局的决定继续办理。"
    else:
        return
    recipients = [u for u in notify.people(session, roles=roles, township_id=town) if u.id != actor.id]
    if not recipients:
        return
    point, _town = case.point_and_township(session)
    dest_zh = eng.state_zh(step.dest)
    deadline = f"，期限 {_zh_day(case.deadline)}" if case.deadline else ""
    body = (f"{point.name}（案件 {case.id}）：{actor.display_name or actor.name}执行「{step.spec.zh}」，"
            f"状态由「{eng.state_zh(step.source)}」变为「{dest_zh}」{deadline}。")
    if event.reason:
        body += f"理由：{event.reason}。"
    notify.enqueue(session, users=recipients, subject=f"【{dest_zh}】{point.name}", body=body + todo,
                   key=f"event:{case.id}:{event.seq}", case_id=case.id,
                   webhook=district.webhook.enabled and step.trigger == "suspend", now=now)


def _notify_send_back(session: Session, district: District, case: WorkingCase, step: Step, event: audit.NewEvent,
                      actor: User, now: datetime) -> None:
    """Tell the township's inspectors that a proposal came back: 退回, why, and the deadline that runs again."""
    eng = case_engine(case)
    recipients = [u for u in notify.people(session, roles=["inspector"], township_id=case.township_id)
                  if u.id != actor.id]
    if not recipients:
        return
    point, _town = case.point_and_township(session)
    proposal = eng.state_zh(step.source)
    who = actor.display_name or actor.name
    body = (f"{point.name}（案件 #{case.id}）：{who}（区教育局）退回了「{proposal}」的提议，"
            f"案件回到「{eng.state_zh(step.dest)}」。退回理由：{event.reason or '（未填写）'}。")
    if case.deadline:
        body += f"期限为 {case.deadline.isoformat()}"
        if step.paused_days and step.restored_from:
            body += (f"（原期限 {step.restored_from.isoformat()}，审批期间的 {step.paused_days} 个"
                     f"{'工作日' if district.deadlines.calendar == 'workdays' else '日'}不计入，已顺延）")
        body += "。"
    body += "请按退回意见补正后继续办理。"
    why = event.reason if len(event.reason) <= 40 else event.reason[:40] + "…"
    notify.enqueue(session, users=recipients, subject=f"【退回】{point.name}：「{proposal}」被退回——{why}"[:300],
                   body=body, key=f"event:{case.id}:{event.seq}", case_id=case.id, now=now)


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
    workflow: str = "rectification",
    commit: bool = True,
    event_data: Mapping[str, Any] | None = None,
    basis: str = "",
    force: bool = False,
) -> WorkingCase:
    """Register a point (or an estate kindergarten) and open its case under the newest declaration of
    `workflow`, in its initial state, with the first audit event.

    With `commit=False` the caller owns the transaction (a bulk import commits a chunk at a
    time); `event_data` adds facts to the opening event (e.g. the import file and row).

    One file per point (childcare points): a likely duplicate of a point with a live case is refused
    (`DuplicatePoint`, naming the case) unless `force`; a match with a banned or closed point is linked
    and flagged. A first-registration date given on or before the campaign's cut-off needs its
    documentary `basis` (an import passes its registry as the basis).
    """
    now = now or utcnow()
    today = local_today(district, now)
    spec = current_workflow(workflow)
    kind = POINT_KINDS[spec.name]
    estate = kind == "estate_kindergarten"  # a 小区配套园 needs only its name
    name = clean_text("name", name, required=True)
    address = clean_text("address", address, required=not estate)
    operator = clean_text("operator", operator, required=not estate)
    phone = clean_text("phone", phone)
    township_code = clean_text("township", township_code, required=True)
    if registered_on is not None:
        check_date(registered_on, "registered_on")
    if source not in SOURCES:
        raise InvalidInput(f"来源须为 {'、'.join(SOURCES)}", f"source must be one of {', '.join(SOURCES)}")
    if actor.role not in spec.openers:
        who = "、".join(Role(r).zh for r in sorted(spec.openers))
        raise NotAllowed(f"{Role(actor.role).zh}不能发起「{spec.zh}」案件（须由{who}发起）",
                         f"role {actor.role} cannot open {spec.name} cases (needs {', '.join(sorted(spec.openers))})")
    town = township_by_code(session, township_code)
    if actor.role in (Role.INSPECTOR, Role.LEAD) and actor.township_id != town.id:
        raise NotFound(f"镇街 {township_code} 不在您的辖区", f"township {township_code} is not yours")
    basis = clean_text("basis", basis)
    cutoff = district.district.cutoff
    if registered_on is not None and registered_on <= cutoff and not basis:
        raise InvalidInput(
            f"首次登记日期 {registered_on.isoformat()} 不晚于截止日期 {cutoff.isoformat()}，"
            "须注明登记依据（如：原备案台账第37号）",
            f"a first-registration date on or before the cut-off ({cutoff.isoformat()}) needs its documentary "
            "basis (--basis)")
    registered_on = registered_on or today
    if registered_on > today:
        raise InvalidInput("登记日期不能晚于今天", "registered-on date cannot be in the future")
    matches = (registry.find_duplicates(session, name=name, address=address, operator=operator, phone=phone)
               if kind == "childcare_point" else [])
    live = registry.blocking(matches)
    if live and not force:
        raise registry.DuplicatePoint(live)
    conn = session.connection()
    try:
        point_row = {
            "name": name.strip(), "township_id": town.id, "address": address.strip(), "operator": operator.strip(),
            "phone": phone.strip(), "registered_on": registered_on, "source": source, "kind": kind,
            "created_at": now, "basis": basis, "place_key": registry.place_key(name, address),
            "contact_key": registry.contact_key(operator, phone),
        }
        point_id = _INSERT_POINT.scalar(conn, point_row)
        row = _INSERT_CASE.mappings(conn, {
            "point_id": point_id, "township_id": town.id, "workflow": spec.name, "workflow_version": spec.version,
            "state": spec.initial,
            "version": 1, "round": 0, "escalation_level": 0, "return_stack": "", "proposal_reason": "", "target": "",
            "registered_on": registered_on, "last_seq": 0, "last_hash": "", "opened_at": now, "updated_at": now,
        })[0]
        case = WorkingCase(row)  # the row as written (RETURNING): no need to read it back
        case_id = case.id
        ev = audit.NewEvent(
            case_id=case_id, actor_id=actor.id, actor=actor.name, role=actor.role, trigger="open", from_state="",
            to_state=spec.initial, at=now,
            data={k: v for k, v in {
                "point": name.strip(), "source": source, "registered_on": registered_on.isoformat(),
                "workflow": spec.name, "workflow_version": spec.version,
                "basis": basis,
                # one file per point: what the registration matched, and that the user confirmed it
                "duplicate_of": [m.case_id for m in live], "forced": bool(live),
                "reappeared_of": [m.case_id for m in matches if m.ended],
                **(event_data or {}),
                "point_id": point_id, "point_hash": audit.point_digest(point_row),
            }.items() if v not in ("", [], False)})
        audit.chain(case, ev)
        _INSERT_EVENT.scalar(conn, ev.values())
        _UPDATE_CASE.rowcount(conn, {"last_seq": case.last_seq, "last_hash": case.last_hash, "version": 2,
                                    "_id": case_id, "_version": 1})
        case.version = 2
        registry.link_cases(session, case_id=case_id, matches=matches, actor_id=actor.id, now=now)
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return case
