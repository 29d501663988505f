"""Notice numbers (文号): unique and gap-free per kind, district and year.

The counter row is incremented with an upsert in the caller's transaction, so a rolled-back
transition gives its number back and two writers never get the same one.
"""

from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from cases.models import NoticeCounter

_COUNTER = NoticeCounter.__table__  # type: ignore[attr-defined]
_NEXT = {
    pg: (postgresql.insert if pg else sqlite.insert)(_COUNTER)
    .on_conflict_do_update(index_elements=["district", "kind", "year"], set_={"last": _COUNTER.c.last + 1})
    .returning(_COUNTER.c.last)
    for pg in (False, True)
}


def next_seq(session: Session, *, district: str, kind: str, year: int) -> int:
    """Take the next number of (district, kind, year) inside the current transaction."""
    conn = session.connection()
    stmt = _NEXT[conn.dialect.name == "postgresql"]
    return int(conn.execute(stmt, {"district": district, "kind": kind, "year": year, "last": 1}).scalar_one())


def format_number(prefix: str, year: int, seq: int) -> str:
    """武清教整〔2026〕12号"""
    return f"{prefix}〔{year}〕{seq}号"

