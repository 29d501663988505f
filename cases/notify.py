"""Writes notifications into the outbox (`message`), inside the caller's transaction.

Every message gets an in-app inbox row; people with an e-mail address also get a mail row;
a configured group-robot webhook gets one row per event. Delivery is the scheduler's job.
The `dedupe_key` makes each message exist once, however often the caller runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from cases.models import Message, User, utcnow
from cases.statements import Prepared

_LOGGER = logging.getLogger(__name__)


_MESSAGE = Message.__table__  # type: ignore[attr-defined]
_INSERT_IGNORE = {
    pg: Prepared((postgresql.insert if pg else sqlite.insert)(_MESSAGE)
                 .on_conflict_do_nothing(index_elements=["dedupe_key"]))
    for pg in (False, True)
}


def _insert_ignore(session: Session, rows: list[dict[str, object]]) -> int:
    if not rows:
        return 0
    conn = session.connection()
    stmt = _INSERT_IGNORE[conn.dialect.name == "postgresql"]
    for row in rows:  # executemany needs the same keys in every row
        row.setdefault("read_at", None)
        row.setdefault("sent_at", None)
    return max(stmt.many(conn, rows), 0)


def enqueue(
    session: Session,
    *,
    users: Iterable[User | Person],
    subject: str,
    body: str,
    key: str,
    case_id: int | None = None,
    webhook: bool = False,
    mail: bool = True,
    now: datetime | None = None,
) -> int:
    """Queue one message for each user (inbox, and mail where they have an address).

    `key` identifies the message's cause (e.g. `event:12:34`); with the user and channel it
    forms the dedupe key, so calling this twice for the same cause adds nothing.
    """
    now = now or utcnow()
    rows: list[dict[str, object]] = []
    for u in users:
        base = {"user_id": u.id, "case_id": case_id, "subject": subject, "body": body,
                "created_at": now, "status": "pending", "attempts": 0, "last_error": ""}
        rows.append({**base, "dedupe_key": f"{key}:inbox:{u.id}", "channel": "inbox",
                     "recipient": u.name, "status": "unread", "next_attempt_at": None})
        if mail and u.email:
            rows.append({**base, "dedupe_key": f"{key}:mail:{u.id}", "channel": "mail",
                         "recipient": u.email, "next_attempt_at": now})
    if webhook:
        rows.append({"user_id": None, "case_id": case_id, "subject": subject, "body": body,
                     "created_at": now, "status": "pending", "attempts": 0, "last_error": "",
                     "dedupe_key": f"{key}:webhook", "channel": "webhook", "recipient": "",
                     "next_attempt_at": now})
    n = _insert_ignore(session, rows)
    _LOGGER.debug("queued %d messages for %s", n, key)
    return n


_USER = User.__table__  # type: ignore[attr-defined]
_TOWN_ROLES = ("inspector", "lead")  # roles bound to one township


def _people_query(n_roles: int) -> Prepared:
    """Active users with one of `n_roles` roles (`role0`, …); township roles only of township `town` if given."""
    return Prepared(sa.select(_USER.c.id, _USER.c.name, _USER.c.email, _USER.c.role, _USER.c.township_id).where(
        sa.or_(*(_USER.c.role == sa.bindparam(f"role{i}", type_=sa.String) for i in range(n_roles))),
        _USER.c.active.is_(True),
        sa.or_(sa.bindparam("town", type_=sa.Integer).is_(None), _USER.c.township_id.is_(None),
               _USER.c.township_id == sa.bindparam("town", type_=sa.Integer),
               sa.and_(*(_USER.c.role != r for r in _TOWN_ROLES))),
    ).order_by(_USER.c.id))


_PEOPLE = {n: _people_query(n) for n in range(1, 6)}  # by the number of roles asked for


@dataclass(frozen=True, slots=True)
class Person:
    """Who a message goes to: enough to address it (a plain snapshot, not a session-bound user row)."""

    id: int
    name: str
    email: str
    role: str
    township_id: int | None


def people(session: Session, *, roles: Iterable[str], township_id: int | None = None) -> list[Person]:
    """Active users with one of `roles`; township roles limited to `township_id` when given."""
    wanted = sorted(set(roles))
    if not wanted:
        return []
    query = _PEOPLE.get(len(wanted)) or _people_query(len(wanted))
    rows = query.rows(session.connection(), {"town": township_id, **{f"role{i}": r for i, r in enumerate(wanted)}})
    return [Person(*r) for r in rows]


def inbox(session: Session, *, user_id: int, unread_only: bool = False, limit: int = 50) -> list[Message]:
    """A user's in-app messages, newest first."""
    q = select(Message).where(Message.user_id == user_id, Message.channel == "inbox")
    if unread_only:
        q = q.where(Message.status == "unread")
    return list(session.exec(q.order_by(sa.desc(Message.id)).limit(limit)).all())  # type: ignore[arg-type]


def mark_read(session: Session, *, user_id: int, ids: Iterable[int] | None = None,
              now: datetime | None = None) -> int:
    """Mark a user's inbox messages read (all unread ones when `ids` is None); commits."""
    table = Message.__table__  # type: ignore[attr-defined]
    stmt = table.update().where(table.c.user_id == user_id, table.c.channel == "inbox", table.c.status == "unread")
    if ids is not None:
        stmt = stmt.where(table.c.id.in_(list(ids)))
    result = session.execute(stmt.values(status="read", read_at=now or utcnow()))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
