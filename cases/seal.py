"""The district's seal: a periodic anchor over every case's chain head, so deletions and rewinds show.

A case's own chain cannot tell that its last events were deleted and its head (`last_seq`,
`last_hash`) rewound to match, nor that a case was deleted with all its events. The seal can:
`seal` records each case's head that moved since the previous seal (`seal_anchor`) and chains
the seals themselves (`audit_seal`: each hash covers the previous seal's hash and the anchors
it added). The latest seal's fingerprint is printed in every 督查通报, so even a rewind of the
seals themselves is caught against paper. `verify_anchors` checks that every anchored case
still exists and that its chain still holds the anchored event: a chain may grow past its
anchor, never lose it.

The scheduler's sweep seals at most once per `SEAL_EVERY`; `tuoyou audit seal` seals now.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from cases.audit import GENESIS, Break
from cases.models import AuditSeal, Case, CaseEvent, SealAnchor, utcnow

_LOGGER = logging.getLogger(__name__)

#: How often the scheduler's sweep seals (a seal is only written when some head moved).
SEAL_EVERY = timedelta(hours=1)
#: Characters of the seal's hash printed as its fingerprint.
FINGERPRINT_CHARS = 16

_ANCHOR = SealAnchor.__table__  # type: ignore[attr-defined]
_CASE = Case.__table__  # type: ignore[attr-defined]
_EVENT = CaseEvent.__table__  # type: ignore[attr-defined]


def fingerprint(seal_hash: str) -> str:
    """The printed form of a seal: its first 16 hex characters in groups of four."""
    short = seal_hash[:FINGERPRINT_CHARS].upper()
    return "-".join(short[i:i + 4] for i in range(0, len(short), 4))


def seal_hash(prev_hash: str, seq: int, sealed_at: datetime, cases: int, events: int,
              anchors: list[tuple[int, int, str]]) -> str:
    """The hash of one seal: the previous seal, its number and time, the totals and the anchors it added."""
    at = sealed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = {"prev": prev_hash, "seq": seq, "at": at, "cases": cases, "events": events,
            "anchors": sorted([list(a) for a in anchors])}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Sealed:
    """A seal as people see it."""

    seq: int
    hash: str
    sealed_at: datetime
    cases: int
    events: int
    anchors: int

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.hash)

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "fingerprint": self.fingerprint, "hash": self.hash,
                "sealed_at": self.sealed_at.isoformat(), "cases": self.cases, "events": self.events,
                "anchors": self.anchors}


def _sealed(row: AuditSeal) -> Sealed:
    return Sealed(row.seq, row.hash, row.sealed_at, row.cases, row.events, row.anchors)


def latest(session: Session) -> Sealed | None:
    row = session.exec(select(AuditSeal).order_by(col(AuditSeal.seq).desc())).first()
    return _sealed(row) if row is not None else None


def _anchored(session: Session, case_id: int | None = None) -> dict[int, tuple[int, str, int]]:
    """Each case's latest anchor: case id → (seq, hash, seal seq)."""
    newest = sa.select(_ANCHOR.c.case_id, sa.func.max(_ANCHOR.c.seal_id).label("seal_id")).group_by(
        _ANCHOR.c.case_id)
    if case_id is not None:
        newest = newest.where(_ANCHOR.c.case_id == case_id)
    newest_sq = newest.subquery()
    seals = AuditSeal.__table__  # type: ignore[attr-defined]
    q = (sa.select(_ANCHOR.c.case_id, _ANCHOR.c.seq, _ANCHOR.c.hash, seals.c.seq.label("seal_seq"))
         .join(newest_sq, sa.and_(newest_sq.c.case_id == _ANCHOR.c.case_id, newest_sq.c.seal_id == _ANCHOR.c.seal_id))
         .join(seals, seals.c.id == _ANCHOR.c.seal_id))
    return {r.case_id: (r.seq, r.hash, r.seal_seq) for r in session.connection().execute(q)}


def _event_hashes(session: Session, wanted: dict[int, int]) -> dict[int, str]:
    """The hash of the event at a given seq of each case: case id → hash (absent when the event is gone)."""
    out: dict[int, str] = {}
    items = list(wanted.items())
    for i in range(0, len(items), 500):
        part = items[i:i + 500]
        cond = sa.or_(*(sa.and_(_EVENT.c.case_id == c, _EVENT.c.seq == s) for c, s in part))
        for r in session.connection().execute(sa.select(_EVENT.c.case_id, _EVENT.c.hash).where(cond)):
            out[r.case_id] = r.hash
    return out


def seal(session: Session, *, now: datetime | None = None, every: timedelta | None = None) -> Sealed | None:
    """Anchor every case head that moved since the last seal, chained to it, and commit.

    With `every`, seal only when the last seal is older than that. A head that no longer holds its
    previous anchor (a rewound or rewritten chain) is not re-anchored: it stays a break for
    `audit verify`. Returns the latest seal (None when there is nothing to seal yet).
    """
    now = now or utcnow()
    prev = session.exec(select(AuditSeal).order_by(col(AuditSeal.seq).desc())).first()
    if prev is not None and every is not None and prev.sealed_at > now - every:
        return _sealed(prev)
    heads = {r.id: (r.last_seq, r.last_hash) for r in session.connection().execute(
        sa.select(_CASE.c.id, _CASE.c.last_seq, _CASE.c.last_hash))}
    anchored = _anchored(session)
    moved = {cid: head for cid, head in heads.items() if anchored.get(cid, (None, None))[:2] != head}
    if not moved:
        session.rollback()
        return _sealed(prev) if prev is not None else None
    held = _event_hashes(session, {cid: anchored[cid][0] for cid in moved if cid in anchored})
    anchors: list[tuple[int, int, str]] = []
    for cid, (seq, head_hash) in sorted(moved.items()):
        if cid in anchored:
            a_seq, a_hash, _ = anchored[cid]
            if seq < a_seq or (a_seq and held.get(cid) != a_hash):
                _LOGGER.error("case %s no longer holds its anchored event %s: not re-anchored", cid, a_seq)
                continue
        anchors.append((cid, seq, head_hash))
    if not anchors:
        session.rollback()
        return _sealed(prev) if prev is not None else None
    seq = (prev.seq if prev else 0) + 1
    prev_hash = prev.hash if prev else GENESIS
    total_events = sum(s for s, _ in heads.values())
    h = seal_hash(prev_hash, seq, now, len(heads), total_events, anchors)
    row = AuditSeal(seq=seq, sealed_at=now, cases=len(heads), events=total_events, anchors=len(anchors),
                    prev_hash=prev_hash, hash=h)
    try:
        session.add(row)
        session.flush()
        session.connection().execute(_ANCHOR.insert(), [
            {"seal_id": row.id, "case_id": cid, "seq": s, "hash": hh} for cid, s, hh in anchors])
        session.commit()
    except IntegrityError:  # another process sealed at the same moment: its seal stands
        session.rollback()
        return latest(session)
    _LOGGER.info("seal %d: %d cases, %d heads anchored, %s", seq, len(heads), len(anchors), fingerprint(h))
    return _sealed(row)


def verify_seals(session: Session) -> list[Break]:
    """The seals' own chain: numbers without gaps, each linked to the previous, each hash recomputed."""
    out: list[Break] = []
    rows = session.exec(select(AuditSeal).order_by(col(AuditSeal.seq))).all()
    anchors: dict[int, list[tuple[int, int, str]]] = {}
    for r in session.connection().execute(sa.select(_ANCHOR.c.seal_id, _ANCHOR.c.case_id, _ANCHOR.c.seq,
                                                    _ANCHOR.c.hash)):
        anchors.setdefault(r.seal_id, []).append((r.case_id, r.seq, r.hash))
    prev = GENESIS
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected:
            out.append(Break(0, None, f"第 {expected} 次封存记录缺失", f"seal {expected} is missing"))
            break
        if row.prev_hash != prev or seal_hash(row.prev_hash, row.seq, row.sealed_at, row.cases, row.events,
                                              anchors.get(row.id or 0, [])) != row.hash:
            out.append(Break(0, None, f"第 {row.seq} 次封存记录被改动", f"seal {row.seq} was altered"))
            break
        prev = row.hash
    return out


def verify_anchors(session: Session, case_id: int | None = None) -> list[Break]:
    """Every anchored case still exists and still holds its anchored event; then the seals' chain."""
    out: list[Break] = []
    anchored = _anchored(session, case_id)
    if not anchored:
        return verify_seals(session) if case_id is None else []
    heads = {r.id: (r.last_seq, r.last_hash) for r in session.connection().execute(
        sa.select(_CASE.c.id, _CASE.c.last_seq, _CASE.c.last_hash).where(_CASE.c.id.in_(list(anchored))))}
    held = _event_hashes(session, {cid: a[0] for cid, a in anchored.items() if cid in heads})
    for cid, (a_seq, a_hash, seal_seq) in sorted(anchored.items()):
        if cid not in heads:
            out.append(Break(cid, None, f"案件已被删除（第 {seal_seq} 次封存时存在，共 {a_seq} 条记录）",
                             f"the case was deleted (seal {seal_seq} anchored it with {a_seq} events)"))
        elif heads[cid][0] < a_seq or (a_seq and held.get(cid) != a_hash):
            out.append(Break(cid, a_seq, f"审计链被回退或改写：第 {seal_seq} 次封存时已有第 {a_seq} 条记录，"
                                         f"现在最新为第 {heads[cid][0]} 条",
                             f"the chain was rewound or rewritten: seal {seal_seq} anchored event {a_seq}, "
                             f"the case now ends at event {heads[cid][0]}"))
    if case_id is None:
        out.extend(verify_seals(session))
    return out


def find(session: Session, printed: str) -> Sealed | None:
    """The seal whose printed fingerprint (or hash prefix) this is, as typed from a 督查通报."""
    prefix = printed.replace("-", "").replace(" ", "").lower()
    if len(prefix) < 8:
        return None
    row = session.exec(select(AuditSeal).where(col(AuditSeal.hash).startswith(prefix))).first()
    return _sealed(row) if row is not None else None
