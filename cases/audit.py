"""The audit trail: one `case_event` row per transition, hash-chained per case.

Each row's `hash` is the sha256 of its canonical content and the previous row's hash, so
changing, deleting or reordering any row breaks the chain from that row on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.models import Case, CaseEvent

_LOGGER = logging.getLogger(__name__)

GENESIS = "0" * 64
#: The trigger of the event that chains a rendering of a notice (a PDF file issued).
RENDER = "render"


class EventLike(Protocol):
    case_id: int
    seq: int
    at: datetime
    actor_id: int | None
    actor: str
    role: str
    trigger: str
    from_state: str
    to_state: str
    reason: str
    evidence: list[str]
    notice_number: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class ChainHead(Protocol):
    last_seq: int
    last_hash: str


@dataclass
class NewEvent:
    """An audit event being written (the `case_event` row's columns, before it has an id)."""

    case_id: int
    actor_id: int | None
    actor: str
    role: str
    trigger: str
    from_state: str
    to_state: str
    at: datetime
    reason: str = ""
    evidence: list[str] = field(default_factory=list)
    notice_number: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    prev_hash: str = ""
    hash: str = ""
    id: int | None = None

    def values(self) -> dict[str, Any]:
        """Column values for the INSERT."""
        return {"case_id": self.case_id, "seq": self.seq, "at": self.at, "actor_id": self.actor_id,
                "actor": self.actor, "role": self.role, "trigger": self.trigger, "from_state": self.from_state,
                "to_state": self.to_state, "reason": self.reason, "evidence": self.evidence,
                "notice_number": self.notice_number, "data": self.data, "prev_hash": self.prev_hash,
                "hash": self.hash}


def event_hash(ev: EventLike) -> str:
    at = ev.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content: dict[str, Any] = {
        "case_id": ev.case_id,
        "seq": ev.seq,
        "at": at,
        "actor_id": ev.actor_id,
        "actor": ev.actor,
        "role": ev.role,
        "trigger": ev.trigger,
        "from": ev.from_state,
        "to": ev.to_state,
        "reason": ev.reason,
        "evidence": list(ev.evidence),
        "notice": ev.notice_number,
        "data": ev.data,
        "prev": ev.prev_hash,
    }
    canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- what an event binds ---------------------------------------------------------------------

#: The case row's columns an event binds (its `snap`): `audit verify` checks the row against the last one.
SNAP_COLUMNS = ("state", "deadline", "deadline_kind", "round", "escalation_level")
#: The point row's columns the `open` event binds.
POINT_COLUMNS = ("name", "township_id", "address", "operator", "phone", "registered_on", "source")


def _jsonable(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


def digest(obj: Any) -> str:
    """sha256 (hex) of the canonical JSON of `obj` (dates as ISO strings)."""
    canonical = json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def snapshot(case: Any) -> dict[str, Any]:
    """The state-bearing columns of a case row, as an event records them."""
    return {c: _jsonable(getattr(case, c, None)) for c in SNAP_COLUMNS}


def inspection_digest(row: Any) -> str:
    """The hash of an inspection row's content (a mapping or a row object)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return digest({k: get(k) for k in ("case_id", "inspector_id", "trigger", "round", "results", "notes")})


def notice_digest(notice: Any) -> str:
    """The hash of a notice row as issued: number, kind, addressee, issuer, date, case and data."""
    return digest({"number": notice.number, "kind": notice.kind, "addressee": notice.addressee,
                   "issuer": notice.issuer, "issued_on": notice.issued_on, "case_id": notice.case_id,
                   "data": notice.data or {}})


def point_digest(row: Any) -> str:
    """The hash of a point row's identity (name, township, address, operator, phone, date, source)."""
    get = row.get if isinstance(row, dict) else lambda k: getattr(row, k)
    return digest({k: get(k) for k in POINT_COLUMNS})


def chain(case: ChainHead, ev: NewEvent) -> NewEvent:
    """Link `ev` after the case's last event and seal it; updates the case's chain head.

    The event binds the case row's state-bearing columns as they are after it (`data["snap"]`),
    so a row changed behind the service's back no longer matches its chain.
    """
    ev.data = {**ev.data, "snap": snapshot(case)}
    ev.seq = case.last_seq + 1
    ev.prev_hash = case.last_hash or GENESIS
    ev.at = ev.at.astimezone(UTC)
    ev.hash = event_hash(ev)
    case.last_seq = ev.seq
    case.last_hash = ev.hash
    return ev


@dataclass(frozen=True)
class Break:
    """One thing the records and their chain disagree about: which case, which event, what."""

    case_id: int
    seq: int | None
    problem_zh: str
    problem_en: str


@dataclass
class Related:
    """The rows bound to a batch of cases' events, read once per batch."""

    inspections: dict[int, Any] = field(default_factory=dict)  # id → row
    inspections_by_case: dict[int, list[Any]] = field(default_factory=dict)
    notices: dict[str, Any] = field(default_factory=dict)  # number → row
    notices_by_case: dict[int, list[Any]] = field(default_factory=dict)
    points: dict[int, Any] = field(default_factory=dict)  # id → row
    renderings: dict[int, list[Any]] = field(default_factory=dict)  # event id → rows


def _chain_break(events: list[Any], case_id: int) -> tuple[Break | None, str]:
    prev = GENESIS
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return Break(case_id, ev.seq, f"第 {expected_seq} 条记录缺失", f"event {expected_seq} is missing"), prev
        if ev.prev_hash != prev:
            return Break(case_id, ev.seq, f"第 {ev.seq} 条记录的前序哈希不符",
                         f"event {ev.seq} does not link to the previous one"), prev
        if event_hash(ev) != ev.hash:
            return Break(case_id, ev.seq, f"第 {ev.seq} 条记录内容被改动", f"event {ev.seq} was altered"), prev
        prev = ev.hash
    return None, prev


_SNAP_ZH = {"state": "状态", "deadline": "期限", "deadline_kind": "期限类型", "round": "整改轮次",
            "escalation_level": "督办级别"}


def _row_breaks(events: list[Any], case: Any, rel: Related) -> list[Break]:
    """The case row, and the inspection, notice, point and rendering rows, against what the chain says."""
    out: list[Break] = []
    cid = case.id
    last = events[-1] if events else None
    snap = next((ev.data.get("snap") for ev in reversed(events) if isinstance(ev.data, dict) and "snap" in ev.data),
                None)
    if last is not None:
        row = snapshot(case)
        if snap is not None and last.data.get("snap") is not None:
            for col, want in snap.items():
                if row.get(col) != want:
                    out.append(Break(cid, last.seq,
                                     f"案件的{_SNAP_ZH.get(col, col)}为「{row.get(col)}」，审计链记载为「{want}」",
                                     f"the case's {col} is {row.get(col)!r}, the chain says {want!r}"))
        elif last.to_state and case.state != last.to_state:
            out.append(Break(cid, last.seq, f"案件的状态为「{case.state}」，审计链记载为「{last.to_state}」",
                             f"the case's state is {case.state!r}, the chain says {last.to_state!r}"))
    bound_inspections: set[int] = set()
    for ev in events:
        data = ev.data if isinstance(ev.data, dict) else {}
        ref = data.get("inspection")
        if isinstance(ref, dict):
            bound_inspections.add(ref.get("id"))
            row = rel.inspections.get(ref.get("id"))
            if row is None:
                out.append(Break(cid, ev.seq, f"第 {ev.seq} 条记录的检查记录（{ref.get('id')}）被删除",
                                 f"the inspection of event {ev.seq} ({ref.get('id')}) was deleted"))
            elif inspection_digest(row) != ref.get("hash"):
                out.append(Break(cid, ev.seq, f"第 {ev.seq} 条记录的检查记录（{row.id}）被改动",
                                 f"the inspection of event {ev.seq} ({row.id}) was altered"))
        if "notice_hash" in data and ev.notice_number:
            notice = rel.notices.get(ev.notice_number)
            if notice is None:
                out.append(Break(cid, ev.seq, f"第 {ev.seq} 条记录的文书 {ev.notice_number} 被删除",
                                 f"notice {ev.notice_number} of event {ev.seq} was deleted"))
            elif notice_digest(notice) != data["notice_hash"]:
                out.append(Break(cid, ev.seq, f"文书 {ev.notice_number} 的内容被改动（与第 {ev.seq} 条记录不符）",
                                 f"notice {ev.notice_number} was altered (event {ev.seq} says otherwise)"))
        if "point_hash" in data:
            point = rel.points.get(data.get("point_id", case.point_id))
            if point is None:
                out.append(Break(cid, ev.seq, "托幼点记录被删除", "the point row was deleted"))
            elif point_digest(point) != data["point_hash"]:
                out.append(Break(cid, ev.seq, f"托幼点「{point.name}」的登记信息被改动（与立案记录不符）",
                                 f"the point row ({point.id}) was altered (the opening event says otherwise)"))
        if ev.trigger == RENDER and data.get("sha256"):
            rows = rel.renderings.get(ev.id, [])
            if not any(r.sha256 == data["sha256"] for r in rows):
                out.append(Break(cid, ev.seq, f"文书 {data.get('notice', '')} 的签发文件记录被删除或改动",
                                 f"the rendering of {data.get('notice', '')} recorded by event {ev.seq} is gone"))
    if bound_inspections:  # inspections the chain never recorded (inserted behind the service's back)
        since = min(ev.at for ev in events if isinstance(ev.data, dict) and isinstance(ev.data.get("inspection"), dict))
        for row in rel.inspections_by_case.get(cid, []):
            if row.id not in bound_inspections and row.at >= since:
                out.append(Break(cid, None, f"检查记录 {row.id} 不属于审计链中的任何一条记录",
                                 f"inspection {row.id} belongs to no event of the chain"))
    hashed = {ev.notice_number for ev in events if isinstance(ev.data, dict) and "notice_hash" in ev.data}
    if hashed:
        known = {ev.notice_number for ev in events if ev.notice_number}
        for notice in rel.notices_by_case.get(cid, []):
            if notice.number not in known and notice.event_id is not None:
                out.append(Break(cid, None, f"文书 {notice.number} 不属于审计链中的任何一条记录",
                                 f"notice {notice.number} belongs to no event of the chain"))
    return out


def verify_case(events: list[CaseEvent], case: Case | None, related: Related | None = None) -> Break | None:
    """The first break in one case's chain and rows, or None when it is intact."""
    found = case_breaks(events, case, related)
    return found[0] if found else None


def case_breaks(events: list[Any], case: Any | None, related: Related | None = None) -> list[Break]:
    """Every break found in one case: the chain first, then the rows bound to it."""
    case_id = case.id if case is not None else (events[0].case_id if events else 0)
    assert case_id is not None
    brk, prev = _chain_break(events, case_id)
    if brk is not None:
        return [brk]
    if case is not None and (case.last_seq != len(events) or (case.last_hash or GENESIS) != prev):
        return [Break(case_id, None, "案件的最新记录与审计链不一致（记录被删除？）",
                      "the case's chain head does not match its events (events deleted?)")]
    if case is None:
        return []
    return _row_breaks(events, case, related or Related())


def related(session: Session, cases: list[Any], events: list[Any]) -> Related:
    from cases.models import Inspection, Notice, NoticeRendering, Point

    ids = [c.id for c in cases]
    rel = Related()
    for row in session.exec(select(Inspection).where(sa.column("case_id").in_(ids))).all():
        rel.inspections[row.id] = row
        rel.inspections_by_case.setdefault(row.case_id, []).append(row)
    for n in session.exec(select(Notice).where(sa.column("case_id").in_(ids))).all():
        rel.notices[n.number] = n
        rel.notices_by_case.setdefault(n.case_id, []).append(n)
    point_ids = {c.point_id for c in cases}
    for p in session.exec(select(Point).where(sa.column("id").in_(point_ids))).all():
        rel.points[p.id] = p
    render_ids = [ev.id for ev in events if ev.trigger == RENDER]
    if render_ids:
        for r in session.exec(select(NoticeRendering).where(sa.column("event_id").in_(render_ids))).all():
            rel.renderings.setdefault(r.event_id, []).append(r)
    return rel


def verify(session: Session, case_id: int | None = None, batch: int = 500) -> list[Break]:
    """Check every case's chain and rows (or one case's), then the district seal; returns the breaks found."""
    breaks: list[Break] = []
    q = select(Case).order_by(Case.id)  # type: ignore[arg-type]
    if case_id is not None:
        q = q.where(Case.id == case_id)
    last_id = 0
    while True:
        cases = session.exec(q.where(Case.id > last_id).limit(batch)).all()  # type: ignore[operator]
        if not cases:
            break
        ids = [c.id for c in cases]
        evs = session.exec(
            select(CaseEvent).where(sa.column("case_id").in_(ids)).order_by(CaseEvent.case_id, CaseEvent.seq)  # type: ignore[arg-type]
        ).all()
        by_case: dict[int, list[CaseEvent]] = {}
        for ev in evs:
            by_case.setdefault(ev.case_id, []).append(ev)
        rel = related(session, list(cases), list(evs))
        for c in cases:
            assert c.id is not None
            breaks.extend(case_breaks(by_case.get(c.id, []), c, rel))
        last_id = ids[-1]  # type: ignore[assignment]
        if case_id is not None:
            break
    from cases import seal

    breaks.extend(seal.verify_anchors(session, case_id))
    return breaks


# -- events outside the service's transitions ------------------------------------------------


class _Head:
    """A case row read for appending one event: plain attributes."""

    def __init__(self, row: Any) -> None:
        self.__dict__.update(row)


def append_event(session: Session, *, case_id: int, trigger: str, data: dict[str, Any],
                 actor_id: int | None = None, actor: str = "system", role: str = "system",
                 reason: str = "", notice_number: str = "", at: datetime | None = None) -> NewEvent:
    """Chain one event that changes no state (e.g. a notice rendered) to a case, in the caller's transaction.

    The case row is locked (PostgreSQL) and its head moved with the version check, so a
    concurrent transition and this event are serialised; the caller commits.
    """
    from cases.errors import Conflict
    from cases.models import utcnow

    case_t = Case.__table__  # type: ignore[attr-defined]
    event_t = CaseEvent.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    row = conn.execute(sa.select(case_t).where(case_t.c.id == case_id).with_for_update()).mappings().first()
    if row is None:
        raise ValueError(f"case {case_id} does not exist")
    head = _Head(row)
    ev = NewEvent(case_id=case_id, actor_id=actor_id, actor=actor, role=role, trigger=trigger,
                  from_state=head.state, to_state=head.state, at=at or utcnow(), reason=reason,
                  notice_number=notice_number, data=dict(data))
    chain(head, ev)  # type: ignore[arg-type]
    ev.id = conn.execute(event_t.insert().returning(event_t.c.id), ev.values()).scalar_one()
    updated = conn.execute(case_t.update().where(case_t.c.id == case_id, case_t.c.version == head.version).values(
        last_seq=head.last_seq, last_hash=head.last_hash, version=head.version + 1))
    if updated.rowcount != 1:
        raise Conflict(f"案件 {case_id} 正被他人同时修改，本次记录未保存，请重试",
                       f"case {case_id} was changed concurrently; nothing was saved, retry")
    _LOGGER.debug("case %s: %s event %s", case_id, trigger, ev.seq)
    return ev
