"""12345 接诉即办: hotline 工单 about childcare points, and the replies owed to the hotline.

A 工单 about a point nobody has registered opens a case (source `complaint`); about a filed point
it reopens the case (`reopen`); about a point whose case is still running it is recorded on that
case (`receive_complaint`); about a point once banned or closed it opens a new case, which the
one-file-per-point check flags. The 工单号 is written into the case's audit chain each time, and
the reply to the hotline (`reply_complaint`) too. Everything goes through the case service.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cases import notify
from cases.config import District
from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound
from cases.models import Case, Complaint, Point, Township, User, utcnow
from cases.queries import case_not_found, sees_all, state_zh, township_by_code
from cases.service import Action, advance, local_today, open_case
from cases.validation import check_date, clean_text
from workflow.registry import spec_for

_LOGGER = logging.getLogger(__name__)

OUTCOME_ZH = {"opened": "新立案", "reopened": "已备案点重新核查", "recorded": "并入在办案件"}
STATUS_ZH = {"open": "待答复", "replied": "已答复"}
SUMMARY_MAX = 1800  # the 工单号 and a prefix go before it in the event's reason (at most 2000)
_NUMBER = re.compile(r"[0-9A-Za-z][0-9A-Za-z\-_]{0,63}")

COMPLAINT = Complaint.__table__  # type: ignore[attr-defined]
CASE = Case.__table__  # type: ignore[attr-defined]
POINT = Point.__table__  # type: ignore[attr-defined]
TOWNSHIP = Township.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ComplaintRow:
    """One 工单 as the complaint list shows it, with the state of its case."""

    number: str
    case_id: int
    point: str
    township: str
    state: str
    state_zh: str
    outcome: str
    summary: str
    received_on: date
    reply_due: date
    status: str
    replied_on: date | None
    reply: str
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "case_id": self.case_id, "point": self.point, "township": self.township,
                "state": self.state, "state_zh": self.state_zh, "outcome": self.outcome,
                "outcome_zh": OUTCOME_ZH.get(self.outcome, self.outcome), "summary": self.summary,
                "received_on": self.received_on.isoformat(), "reply_due": self.reply_due.isoformat(),
                "status": self.status, "status_zh": self.status_zh, "replied_on":
                self.replied_on.isoformat() if self.replied_on else None, "reply": self.reply,
                "overdue": self.overdue}

    @property
    def status_zh(self) -> str:
        return "逾期未答复" if self.overdue else STATUS_ZH.get(self.status, self.status)


def _number(value: str) -> str:
    number = clean_text("complaint_number", value, required=True)
    if not _NUMBER.fullmatch(number):
        raise InvalidInput(f"工单号须为 1–64 位字母、数字或连字符：{number or '（空）'}",
                           f"the 工单号 must be 1–64 letters, digits or hyphens: {number!r}")
    return number


def _existing(session: Session, number: str) -> Complaint | None:
    row = session.connection().execute(sa.select(COMPLAINT).where(COMPLAINT.c.number == number)).mappings().first()
    return Complaint.model_construct(**row) if row else None


def _received(district: District, on: date | None, now: datetime) -> date:
    today = local_today(district, now)
    received = check_date(on) if on else today
    if received > today:
        raise InvalidInput("工单受理日期不能晚于今天", "the complaint cannot be received in the future")
    return received


def _latest_case(session: Session, point_id: int) -> dict[str, Any] | None:
    return session.connection().execute(
        sa.select(CASE.c.id, CASE.c.state, CASE.c.township_id, CASE.c.workflow, CASE.c.workflow_version)
        .where(CASE.c.point_id == point_id, CASE.c.workflow == "rectification")
        .order_by(CASE.c.id.desc()).limit(1)).mappings().first()


def _point(session: Session, point_id: int, actor: User) -> dict[str, Any]:
    row = session.connection().execute(sa.select(POINT).where(POINT.c.id == point_id)).mappings().first()
    if row is None or not (sees_all(actor) or row["township_id"] == actor.township_id):
        raise NotFound(f"托幼点 {point_id} 不存在或不在您的辖区",
                       f"point {point_id} not found (or not in your township)")
    return dict(row)


@dataclass(frozen=True)
class Added:
    number: str
    case_id: int
    outcome: str
    reply_due: date
    state: str

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "case_id": self.case_id, "outcome": self.outcome,
                "outcome_zh": OUTCOME_ZH[self.outcome], "reply_due": self.reply_due.isoformat(), "state": self.state}


def add_complaint(
    session: Session,
    district: District,
    *,
    actor: User,
    number: str,
    summary: str = "",
    point_id: int | None = None,
    name: str = "",
    address: str = "",
    township_code: str = "",
    operator: str = "",
    phone: str = "",
    received_on: date | None = None,
    now: datetime | None = None,
) -> Added:
    """Take in a 12345 工单: open, reopen or record on the point's case, and note the reply due."""
    now = now or utcnow()
    number = _number(number)
    summary = clean_text("reason", summary, limit=SUMMARY_MAX)
    received = _received(district, received_on, now)
    earlier = _existing(session, number)
    if earlier is not None:
        raise Conflict(f"工单 {number} 已于 {earlier.received_on.isoformat()} 受理（案件 #{earlier.case_id}），"
                       "不重复登记",
                       f"complaint {number} was already taken in on {earlier.received_on} (case {earlier.case_id})")
    if point_id is None:
        if not (name.strip() and address.strip() and township_code.strip()):
            raise InvalidInput("须指定托幼点（--point），或给出名称、地址和镇街（--name --address --township）",
                               "give the point (--point) or its name, address and township (--name --address "
                               "--township)")
        point_id = _known_point(session, name=name, address=address, operator=operator, phone=phone,
                                township_code=township_code)
    session.rollback()  # end the read-only transaction: each path below commits its own
    reason = f"12345工单 {number}" + (f"：{summary}" if summary else "")
    if point_id is None:  # nobody has registered it: a new case, found through the hotline
        case = open_case(session=session, district=district, actor=actor, name=name, township_code=township_code,
                         address=address, operator=operator.strip() or "不详", phone=phone, source="complaint",
                         now=now)
        return _record(session, district, actor, number, summary, received, case.id, "opened",  # type: ignore[arg-type]
                       "receive_complaint", reason, now)
    point = _point(session, point_id, actor)
    latest = _latest_case(session, point_id)
    if latest is None:
        raise NotFound(f"托幼点 {point_id} 没有整治案件", f"point {point_id} has no rectification case")
    state = latest["state"]
    if state == "filed":
        return _record(session, district, actor, number, summary, received, latest["id"], "reopened", "reopen",
                       reason, now)
    if state in ("banned", "closed"):  # it has reappeared: a new file, flagged against the old one
        session.rollback()
        town = session.get(Township, point["township_id"])
        assert town is not None
        case = open_case(session=session, district=district, actor=actor, name=point["name"],
                         township_code=town.code, address=point["address"], operator=point["operator"],
                         phone=point["phone"], source="complaint", now=now)
        return _record(session, district, actor, number, summary, received, case.id, "opened",  # type: ignore[arg-type]
                       "receive_complaint", reason, now)
    if spec_for(latest["workflow"], latest["workflow_version"]).state(state).terminal:
        zh = state_zh(latest["workflow"], latest["workflow_version"], state)
        raise NotAllowed(f"托幼点 {point_id} 的案件 #{latest['id']} 已{zh}，不再由本系统办理，"
                         "请将工单转交其主管部门",
                         f"case {latest['id']} of point {point_id} is {state}; pass the complaint to its authority",
                         allowed=[])
    return _record(session, district, actor, number, summary, received, latest["id"], "recorded",
                   "receive_complaint", reason, now)


def _known_point(session: Session, *, name: str, address: str, operator: str, phone: str,
                 township_code: str) -> int | None:
    """The registered point a 工单 names (the one-file-per-point match), if any."""
    from cases.registry import find_duplicates

    township_by_code(session, township_code)  # an unknown township is a clear error
    matches = find_duplicates(session, name=name, address=address, operator=operator, phone=phone)
    return matches[-1].point_id if matches else None


def _record(session: Session, district: District, actor: User, number: str, summary: str, received: date,
            case_id: int, outcome: str, trigger: str, reason: str, now: datetime) -> Added:
    """Write the 工单 and fire its trigger on the case: one transaction (the service commits both)."""
    due = district.work_calendar().add(received, district.deadlines.complaint_reply)
    township_id = session.connection().execute(
        sa.select(CASE.c.township_id).where(CASE.c.id == case_id)).scalar_one_or_none()
    if township_id is None:
        raise case_not_found(case_id)
    session.connection().execute(COMPLAINT.insert(), {
        "number": number, "case_id": case_id, "township_id": township_id, "summary": summary,
        "received_on": received, "reply_due": due, "outcome": outcome, "status": "open", "reply": "",
        "replied_on": None, "created_by": actor.id, "created_at": now})
    _tell_township(session, actor=actor, number=number, summary=summary, case_id=case_id,
                   township_id=township_id, due=due, outcome=outcome, now=now)
    result = advance(session=session, district=district, case_id=case_id, actor=actor, now=now,
                     action=Action(trigger=trigger, reason=reason,
                                   data={"complaint": number, "reply_due": due.isoformat()}))
    _LOGGER.info("complaint %s: case %s %s", number, case_id, outcome)
    return Added(number, case_id, outcome, due, result.case.state)


OUTCOME_TODO = {"opened": "已据此立案，请尽快核查", "reopened": "原已备案的托幼点已重新核查立案，请尽快核查",
                "recorded": "已记入该点正在办理的案件"}


def _tell_township(session: Session, *, actor: User, number: str, summary: str, case_id: int, township_id: int,
                   due: date, outcome: str, now: datetime) -> None:
    """Tell the township's inspectors and lead of a 工单 taken in for them, in the transaction that records it."""
    people = [p for p in notify.people(session, roles=["inspector", "lead"], township_id=township_id)
              if p.id != actor.id and p.township_id == township_id]
    if not people:
        return
    name = session.connection().execute(
        sa.select(POINT.c.name).join(CASE, CASE.c.point_id == POINT.c.id).where(CASE.c.id == case_id)).scalar_one()
    body = (f"12345工单 {number}（{name}，案件 #{case_id}）已受理，{OUTCOME_TODO[outcome]}。"
            f"请于{due.year}年{due.month}月{due.day}日前答复。" + (f"工单摘要：{summary}" if summary else ""))
    notify.enqueue(session, users=people, subject=f"【12345工单】{name}：{number}", body=body,
                   key=f"complaint:{number}:intake", case_id=case_id, now=now)


def reply_complaint(session: Session, district: District, *, actor: User, number: str, text: str,
                    on: date | None = None, now: datetime | None = None) -> ComplaintRow:
    """Record the reply to the hotline about a 工单, on the 工单 and in its case's chain."""
    now = now or utcnow()
    number = _number(number)
    text = clean_text("reason", text, limit=SUMMARY_MAX)
    if not text:
        raise InvalidInput("须填写答复内容", "the reply text is required")
    replied = _received(district, on, now)
    c = _existing(session, number)
    if c is None or not (sees_all(actor) or c.township_id == actor.township_id):
        raise NotFound(f"工单 {number} 不存在或不在您的辖区", f"no complaint {number} (or not in your township)")
    if c.status == "replied":
        raise Conflict(f"工单 {number} 已于 {c.replied_on} 答复",
                       f"complaint {number} was replied to on {c.replied_on}")
    if replied < c.received_on:
        raise InvalidInput("答复日期不能早于受理日期", "the reply cannot predate the complaint")
    session.connection().execute(COMPLAINT.update().where(COMPLAINT.c.id == c.id, COMPLAINT.c.status == "open"),
                                 {"status": "replied", "reply": text, "replied_on": replied})
    advance(session=session, district=district, case_id=c.case_id, actor=actor, now=now,
            action=Action(trigger="reply_complaint", reason=f"答复12345工单 {number}：{text}",
                          data={"complaint": number}))
    return next(r for r in list_complaints(session, district, user=actor, today=replied) if r.number == number)


def list_complaints(session: Session, district: District, *, user: User, status: str | None = None,
                    today: date | None = None) -> list[ComplaintRow]:
    """The 工单 this user may see, newest first, with their case's state and reply status."""
    if status not in (None, "open", "replied", "overdue"):
        raise InvalidInput(f"状态须为 open、replied 或 overdue：{status}",
                           f"status must be open, replied or overdue: {status}", allowed=["open", "replied", "overdue"])
    today = today or local_today(district, utcnow())
    q = (sa.select(COMPLAINT, CASE.c.state, CASE.c.workflow, CASE.c.workflow_version, POINT.c.name.label("point"),
                   TOWNSHIP.c.name.label("township"))
         .join(CASE, CASE.c.id == COMPLAINT.c.case_id).join(POINT, POINT.c.id == CASE.c.point_id)
         .join(TOWNSHIP, TOWNSHIP.c.id == COMPLAINT.c.township_id).order_by(COMPLAINT.c.id.desc()))
    if not sees_all(user):
        q = q.where(COMPLAINT.c.township_id == (user.township_id or -1))
    if status in ("open", "replied"):
        q = q.where(COMPLAINT.c.status == status)
    elif status == "overdue":
        q = q.where(COMPLAINT.c.status == "open", COMPLAINT.c.reply_due < today)
    rows = session.connection().execute(q).mappings().all()
    return [ComplaintRow(number=r["number"], case_id=r["case_id"], point=r["point"], township=r["township"],
                         state=r["state"], state_zh=state_zh(r["workflow"], r["workflow_version"], r["state"]),
                         outcome=r["outcome"],
                         summary=r["summary"], received_on=r["received_on"], reply_due=r["reply_due"],
                         status=r["status"], replied_on=r["replied_on"], reply=r["reply"],
                         overdue=r["status"] == "open" and r["reply_due"] < today) for r in rows]
