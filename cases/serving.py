"""Service of notices (送达): record how, when, to whom and by whom a notice was served.

A notice takes effect on service. `deliver` records the service of one notice in one
transaction: the `notice_service` row (at most one per notice), a `serve` event in the case's
hash chain, the numbered 送达回证 (a notice of its own), and — when the served notice set the
case's running deadline "自送达之日起" — that deadline counted again from the service date
(until then it ran provisionally from the issue date).

It also gathers what the ban's guards need about the 行政处罚事先告知书 (`intent_facts`): when
it was served, when the time to state, defend and ask for a hearing ends, and whether a
hearing was asked for or held, all from the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cases import audit
from cases.config import District
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.models import Case, CaseEvent, Message, Notice, NoticeService, User, utcnow
from cases.service import _INSERT_EVENT, _UPDATE_CASE, issue_notice, load_case, local_today
from cases.validation import check_date, clean_text, for_terminal, is_clean
from workflow.notices import NoticeKind
from workflow.spec import Role

_LOGGER = logging.getLogger(__name__)

#: The ways of service the law knows, by their CLI names, with their Chinese names.
METHODS: dict[str, str] = {
    "direct": "直接送达",
    "left": "留置送达",
    "mail": "邮寄送达",
    "electronic": "电子送达",
    "public": "公告送达",
}
METHOD_BY_ZH = {zh: code for code, zh in METHODS.items()}
SERVE_TRIGGER = "serve"
SERVERS = (Role.INSPECTOR, Role.LEAD, Role.REVIEWER, Role.ADMIN)
NOT_SERVED_KINDS = (NoticeKind.SERVICE_RECEIPT.value, NoticeKind.BULLETIN.value)
PUBLIC_DAYS = 30  # 公告送达: deemed served 30 days after the announcement (《民事诉讼法》第九十五条)

_NOTICE = Notice.__table__  # type: ignore[attr-defined]
_SERVICE = NoticeService.__table__  # type: ignore[attr-defined]
_CASE = Case.__table__  # type: ignore[attr-defined]


def method_code(method: str) -> str:
    """`direct` or 直接送达 → `direct`; anything else is a clear error."""
    m = method.strip()
    if m in METHODS:
        return m
    if m in METHOD_BY_ZH:
        return METHOD_BY_ZH[m]
    valid = "、".join(f"{k}（{v}）" for k, v in METHODS.items())
    raise InvalidInput(f"送达方式须为 {valid}，而不是「{method}」",
                       f"the method must be one of {', '.join(METHODS)}, not {method!r}")


@dataclass(frozen=True)
class Served:
    """What `deliver` recorded."""

    record: NoticeService
    receipt: Notice
    notice: Notice
    deadline_before: date | None
    deadline_after: date | None

    def summary(self) -> dict[str, Any]:
        return {"number": self.notice.number, "kind": self.notice.kind, "method": self.record.method,
                "method_zh": METHODS[self.record.method], "served_on": self.record.served_on.isoformat(),
                "recipient": self.record.recipient, "receipt": self.receipt.number, "case_id": self.record.case_id,
                "deadline_before": self.deadline_before.isoformat() if self.deadline_before else None,
                "deadline": self.deadline_after.isoformat() if self.deadline_after else None}


def service_of(session: Session, notice_id: int) -> NoticeService | None:
    return session.exec(select(NoticeService).where(NoticeService.notice_id == notice_id)).first()


def services_of_case(session: Session, case_id: int) -> dict[int, NoticeService]:
    """The service records of a case's notices, by notice id."""
    rows = session.exec(select(NoticeService).where(NoticeService.case_id == case_id)).all()
    return {r.notice_id: r for r in rows}


def deliver(
    *,
    session: Session,
    district: District,
    number: str,
    method: str,
    served_on: date,
    actor: User,
    recipient: str = "",
    place: str = "",
    now: datetime | None = None,
) -> Served:
    """Record the service of notice `number` and issue its 送达回证, in one transaction, and commit."""
    now = now or utcnow()
    today = local_today(district, now)
    code = method_code(method)
    recipient = clean_text("recipient", recipient)
    place = clean_text("address", place)
    check_date(served_on, "served_on")
    if not is_clean(number, limit=64):
        raise NotFound(f"找不到文书 {for_terminal(number)[:64]}", f"no notice numbered {for_terminal(number)[:64]}")
    if actor.role not in SERVERS:
        raise NotAllowed(f"{Role(actor.role).zh}不能登记送达", f"role {actor.role} cannot record service")
    notice = session.exec(select(Notice).where(Notice.number == number.strip())).first()
    if notice is None:
        raise NotFound(f"找不到文书 {number}", f"no notice numbered {number}")
    if notice.kind in NOT_SERVED_KINDS:
        raise InvalidInput(f"{notice.number} 是{_title(notice.kind)}，不需要送达",
                           f"{notice.number} is a {notice.kind}, which is not served")
    if notice.case_id is None:
        raise InvalidInput(f"文书 {notice.number} 不属于任何案件，不能登记送达",
                           f"notice {notice.number} belongs to no case")
    if served_on < notice.issued_on:
        raise InvalidInput(f"送达日期 {served_on} 早于文书签发日期 {notice.issued_on}",
                           f"the service date {served_on} is before the notice was issued ({notice.issued_on})")
    if served_on > today:
        raise InvalidInput(f"送达日期 {served_on} 晚于今天（{today}）",
                           f"the service date {served_on} is in the future")
    try:
        case = load_case(session, user=actor, case_id=notice.case_id)  # scope-checked, row-locked
        earlier = service_of(session, notice.id or 0)
        if earlier is not None:
            raise Conflict(
                f"文书 {notice.number} 已于 {earlier.served_on} {METHODS.get(earlier.method, earlier.method)}"
                f"（送达回证 {earlier.receipt_number}），不能重复登记送达",
                f"notice {notice.number} was already served on {earlier.served_on} ({earlier.method})")
        effective = served_on + timedelta(days=PUBLIC_DAYS) if code == "public" else served_on
        recipient = (recipient or "").strip() or notice.addressee
        data = dict(notice.data or {})
        # a deadline counted 自送达之日起 runs from the service date once the notice that set it is served
        before = case.deadline
        after = before
        if (data.get("deadline_days") and before is not None and data.get("deadline") == before.isoformat()
                and case.deadline_set_on == notice.issued_on):
            after = district.work_calendar().add(effective, int(data["deadline_days"]))
            if after != before:
                case.deadline, case.deadline_set_on, case.escalation_level = after, effective, 0
        point, town = case.point_and_township(session)
        # the 送达回证 is the serving body's record, and the body that serves a notice is the one that issued it:
        # a notice of the committee is served, and its receipt numbered and signed, by the committee
        receipt = issue_notice(
            session, district, case=case, point=point, township=town, kind=NoticeKind.SERVICE_RECEIPT,
            actor_name=actor.display_name or actor.name, today=today, addressee=recipient,
            issuer_ref=issuer_ref_of(district, notice),
            served_number=notice.number, served_kind=notice.kind, served_title=_title(notice.kind),
            served_issued_on=notice.issued_on.isoformat(), served_issuer=notice.issuer,
            method=code, method_zh=METHODS[code], served_on=served_on.isoformat(),
            effective_on=effective.isoformat(), recipient=recipient, place=place.strip() or point.address,
            server=actor.display_name or actor.name, actor="",
        )
        conn = session.connection()
        rec_id = conn.execute(_SERVICE.insert().returning(_SERVICE.c.id), {
            "notice_id": notice.id, "case_id": notice.case_id, "method": code, "served_on": effective,
            "recipient": recipient, "served_by": actor.id, "receipt_number": receipt.number, "event_id": None,
            "created_at": now}).scalar_one()
        event = audit.NewEvent(
            case_id=case.id, actor_id=actor.id, actor=actor.name, role=actor.role, trigger=SERVE_TRIGGER,
            from_state=case.state, to_state=case.state, at=now, notice_number=receipt.number,
            reason=f"{_title(notice.kind)}（{notice.number}）{METHODS[code]}，受送达人：{recipient}",
            data={k: v for k, v in {
                "notice": notice.number, "kind": notice.kind, "method": code, "served_on": effective.isoformat(),
                "announced_on": served_on.isoformat() if code == "public" else None, "recipient": recipient,
                "receipt": receipt.number, "notice_hash": audit.notice_digest(receipt),
                "deadline_before": before.isoformat() if before and after != before else None,
                "deadline": after.isoformat() if after and after != before else None,
            }.items() if v is not None},
        )
        audit.chain(case, event)
        event.id = _INSERT_EVENT.scalar(conn, event.values())
        conn.execute(_SERVICE.update().where(_SERVICE.c.id == rec_id).values(event_id=event.id))
        conn.execute(_NOTICE.update().where(_NOTICE.c.id == receipt.id).values(event_id=event.id))
        changes = case.changes()
        changes["updated_at"] = now
        changes["version"] = case.version + 1
        if _UPDATE_CASE.rowcount(conn, {**changes, "_id": case.id, "_version": case.version}) != 1:
            raise Conflict(f"案件 {case.id} 已被他人同时修改，本次送达未保存，请重试",
                           f"case {case.id} was changed concurrently; nothing was saved, retry")
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"文书 {number} 已登记送达，不能重复登记", f"notice {number} was already served") from exc
    except BaseException:
        session.rollback()
        raise
    record = session.get(NoticeService, rec_id)
    assert record is not None
    _LOGGER.info("notice %s served on %s (%s) to %s, receipt %s", notice.number, effective, code, recipient,
                 receipt.number)
    return Served(record=record, receipt=receipt, notice=notice, deadline_before=before, deadline_after=after)


def issuer_ref_of(district: District, notice: Notice) -> str:
    """The body that issued `notice`, as the district file names it (bureau, committee, …).

    Recorded with each notice since numbers are taken per issuing body; a notice issued before is
    known by its issuer's name (the bureau when the name is no longer the district's).
    """
    ref = (notice.data or {}).get("issuer_ref")
    return str(ref) if ref else district.unit_ref(notice.issuer) or "bureau"


def _title(kind: str) -> str:
    try:
        return NoticeKind(kind).title
    except ValueError:
        return kind


# -- the notice of intent and the hearing (facts for confirm_ban's guards) ----------------------------


def _local(district: District, at: datetime) -> date:
    return at.astimezone(ZoneInfo(district.district.timezone)).date()


def intent_facts(session: Session, district: District, case_id: int) -> dict[str, Any]:
    """What the guards of the ban need: the notice of intent, its service, the window, the hearing.

    Dates are ISO strings (they are recorded in the audit event as they were judged).
    """
    intent = session.exec(select(Notice).where(Notice.case_id == case_id,
                                               Notice.kind == NoticeKind.PENALTY_INTENT.value)
                          .order_by(col(Notice.id).desc())).first()
    if intent is None:
        return {}
    served = service_of(session, intent.id or 0)
    window_end = (district.work_calendar().add(served.served_on, district.law.hearing_days)
                  if served is not None else None)
    since = intent.event_id or 0
    events = session.exec(select(CaseEvent).where(
        CaseEvent.case_id == case_id, col(CaseEvent.id) > since,
        col(CaseEvent.trigger).in_(["request_hearing", "record_hearing"])).order_by(col(CaseEvent.id))).all()
    requested = next((e for e in events if e.trigger == "request_hearing"), None)
    held = next((e for e in events if e.trigger == "record_hearing"), None)
    return {
        "intent_number": intent.number,
        "intent_issued_on": intent.issued_on.isoformat(),
        "intent_served_on": served.served_on.isoformat() if served else None,
        "intent_window_end": window_end.isoformat() if window_end else None,
        "hearing_requested_on": _local(district, requested.at).isoformat() if requested else None,
        "hearing_held_on": _local(district, held.at).isoformat() if held else None,
    }


# -- unserved notices (reminded by the scheduler) ---------------------------------------------------


CATCH_UP_DAYS = 14  # a scheduler down this long still reminds the notices that came due meanwhile


def unserved_due(session: Session, district: District, today: date) -> list[Notice]:
    """Unserved notices of the kinds that must be served that became `remind_after_days` working days old
    recently (within `CATCH_UP_DAYS`): each is reminded once, old ones are not reminded in a burst."""
    cal = district.work_calendar()
    days = district.service.remind_after_days
    # the latest issue date that is `days` working days before today (calendar arithmetic backwards)
    latest, count = today, 0
    while count < days:
        latest -= timedelta(days=1)
        if cal.mode == "calendar" or cal.is_workday(latest):
            count += 1
    served_ids = sa.select(_SERVICE.c.notice_id)
    rows = session.exec(select(Notice).where(
        col(Notice.kind).in_(district.service.kinds), col(Notice.issued_on) <= latest,
        col(Notice.issued_on) > latest - timedelta(days=CATCH_UP_DAYS),
        col(Notice.case_id).is_not(None), col(Notice.id).not_in(served_ids)).order_by(col(Notice.id))).all()
    return list(rows)



def remind_unserved(engine: sa.Engine, district: District, now: datetime | None = None) -> int:
    """Remind the township's inspectors of each notice that came due unserved (once per notice); commits."""
    from cases import notify
    from cases.service import point_and_township

    now = now or utcnow()
    today = local_today(district, now)
    done = 0
    with Session(engine) as session:
        for notice in unserved_due(session, district, today):
            case_id = notice.case_id or 0
            key = f"unserved:{notice.id}"
            if session.exec(select(Message.id).where(col(Message.dedupe_key).startswith(f"{key}:"))).first():
                continue  # reminded before
            case_row = session.connection().execute(
                sa.select(_CASE.c.point_id, _CASE.c.township_id).where(_CASE.c.id == case_id)).first()
            if case_row is None:
                continue
            point, _town = point_and_township(session, case_row.point_id)
            title = _title(notice.kind)
            subject = f"【送达提醒】{point.name}的{title}（{notice.number}）尚未登记送达"
            body = (f"{title}（{notice.number}，{_zh_day(notice.issued_on)}签发，主送：{notice.addressee}）"
                    f"签发后已超过{district.service.remind_after_days}个工作日，仍未登记送达。文书自送达之日起生效，"
                    f"期限自送达之日起计算；请尽快送达受送达人，并登记送达方式、日期和受送达人"
                    f"（案件 {case_id} 页面或 tuoyou notice deliver）。")
            users = notify.people(session, roles=["inspector"], township_id=case_row.township_id)
            notify.enqueue(session, users=users, subject=subject, body=body, key=key, case_id=case_id, now=now)
            done += 1
        session.commit()
    if done:
        _LOGGER.info("reminded %d unserved notices", done)
    return done


def _zh_day(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
