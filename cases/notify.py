"""Writes notifications into the outbox (`message`), inside the caller's transaction.

Every message gets an in-app inbox row; people with an e-mail address also get a mail row;
a configured group-robot webhook gets one row per event. Delivery is the scheduler's job.
The `dedupe_key` makes each message exist once, however often the caller runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from cases.models import Message, User, utcnow

_LOGGER = logging.getLogger(__name__)


def _insert_ignore(session: Session, rows: list[dict[str, object]]) -> int:
    if not rows:
        return 0
    table = Message.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    result = session.execute(ins.values(rows).on_conflict_do_nothing(index_elements=["dedupe_key"]))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def enqueue(
    session: Session,
    *,
    users: Iterable[User],
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


def people(session: Session, *, roles: Iterable[str], township_id: int | None = None) -> list[User]:
    """Active users with one of `roles`; township roles limited to `township_id` when given."""
    q = select(User).where(sa.column("role").in_(list(roles)), User.active == True)  # noqa: E712
    users = list(session.exec(q).all())
    if township_id is not None:
        users = [u for u in users if u.township_id in (None, township_id) or u.role not in ("inspector", "lead")]
    return users
