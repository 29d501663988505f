"""Notice numbers (文号): unique and gap-free per series, that is per district, kind, issuing body and year.

A 文号 belongs to the body that issues the notice. The district file gives each kind a prefix and a
common series (`[notices.prefixes]`), and may give a body its own prefix for a kind it issues
(`[notices.issuer_prefixes.<body>]`): that body's notices of the kind then run in a series of their
own, keyed by the body in the counter's `series` column ("" is the kind's common series).

The counter row is incremented with an upsert in the caller's transaction, so a rolled-back
transition gives its number back and two writers never get the same one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from cases.config import District
from cases.models import NoticeCounter
from cases.statements import Prepared

_LOGGER = logging.getLogger(__name__)

_COUNTER = NoticeCounter.__table__  # type: ignore[attr-defined]
_NEXT = {
    pg: Prepared((postgresql.insert if pg else sqlite.insert)(_COUNTER)
                 .on_conflict_do_update(index_elements=["district", "kind", "series", "year"],
                                        set_={"last": _COUNTER.c.last + 1})
                 .returning(_COUNTER.c.last))
    for pg in (False, True)
}


@dataclass(frozen=True)
class Number:
    """A number taken: the series it belongs to, its place in the series and the 文号 as printed."""

    series: str  # "" for the kind's common series, else the issuing body with its own prefix
    seq: int
    text: str  # 武清教整〔2026〕12号


def next_seq(session: Session, *, district: str, kind: str, series: str, year: int) -> int:
    """Take the next number of (district, kind, series, year) inside the current transaction."""
    conn = session.connection()
    stmt = _NEXT[conn.dialect.name == "postgresql"]
    params = {"district": district, "kind": kind, "series": series, "year": year, "last": 1}
    return int(stmt.scalar(conn, params))


def take_number(session: Session, district: District, *, kind: str, issuer_ref: str, year: int) -> Number:
    """The next 文号 of a `kind` notice that `issuer_ref` (bureau, committee, …) issues in `year`."""
    series, prefix = district.notices.numbering(kind, issuer_ref)
    seq = next_seq(session, district=district.district.code, kind=kind, series=series, year=year)
    number = Number(series=series, seq=seq, text=format_number(prefix, year, seq))
    _LOGGER.debug("%s by %s: %s (series %r)", kind, issuer_ref, number.text, series)
    return number


def format_number(prefix: str, year: int, seq: int) -> str:
    """武清教整〔2026〕12号"""
    return f"{prefix}〔{year}〕{seq}号"
