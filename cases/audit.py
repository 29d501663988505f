"""The audit trail: one `case_event` row per transition, hash-chained per case.

Each row's `hash` is the sha256 of its canonical content and the previous row's hash, so
changing, deleting or reordering any row breaks the chain from that row on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlmodel import Session, select

from cases.models import Case, CaseEvent

_LOGGER = logging.getLogger(__name__)

GENESIS = "0" * 64


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


def chain(case: ChainHead, ev: NewEvent) -> NewEvent:
    """Link `ev` after the case's last event and seal it; updates the case's chain head."""
    ev.seq = case.last_seq + 1
    ev.prev_hash = case.last_hash or GENESIS
    ev.at = ev.at.astimezone(UTC)
    ev.hash = event_hash(ev)
    case.last_seq = ev.seq
    case.last_hash = ev.hash
    return ev


@dataclass(frozen=True)
class Break:
    case_id: int
    seq: int | None
    problem_zh: str
    problem_en: str


def verify_case(events: list[CaseEvent], case: Case | None) -> Break | None:
    """The first break in one case's chain, or None when it is intact."""
    prev = GENESIS
    case_id = case.id if case is not None else (events[0].case_id if events else 0)
    assert case_id is not None
    for expected_seq, ev in enumerate(events, start=1):
        if ev.seq != expected_seq:
            return Break(case_id, ev.seq, f"第 {expected_seq} 条记录缺失", f"event {expected_seq} is missing")
        if ev.prev_hash != prev:
            return Break(case_id, ev.seq, f"第 {ev.seq} 条记录的前序哈希不符",
                         f"event {ev.seq} does not link to the previous one")
        if event_hash(ev) != ev.hash:
            return Break(case_id, ev.seq, f"第 {ev.seq} 条记录内容被改动", f"event {ev.seq} was altered")
        prev = ev.hash
    if case is not None and (case.last_seq != len(events) or (case.last_hash or GENESIS) != prev):
        return Break(case_id, None, "案件的最新记录与审计链不一致（记录被删除？）",
                     "the case's chain head does not match its events (events deleted?)")
    return None


def verify(session: Session, case_id: int | None = None, batch: int = 500) -> list[Break]:
    """Check every case's chain (or one case's); returns the breaks found."""
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
        for c in cases:
            assert c.id is not None
            b = verify_case(by_case.get(c.id, []), c)
            if b:
                breaks.append(b)
        last_id = ids[-1]  # type: ignore[assignment]
        if case_id is not None:
            break
    return breaks
