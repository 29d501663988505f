"""Builders for the scheduler tests: a controlled clock, cases with a chosen deadline, a real SMTP server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message as EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from cases.config import District, Mail
from cases.models import Case, CaseEvent, Escalation, Message, Notice, Reminder
from tests.conftest import Driver

TZ = ZoneInfo("Asia/Shanghai")


def at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    """`day` at `hour` o'clock Beijing time, as aware UTC (the clock the sweeps get)."""
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


def local_today(district: District) -> date:
    """Today in the district, by the real clock."""
    return datetime.now(ZoneInfo(district.district.timezone)).date()


def workday_near_today(district: District) -> date:
    """The first working day from today on: a clock for `scheduler tick --now`, which refuses one far from today
    (tests that pass fixed dates to the command line would stop working a year after they were written)."""
    return district.work_calendar().next_workday(local_today(district))


def workdays_before(district: District, day: date, n: int) -> date:
    """The working day `n` working days before the working day `day` (on `day` it is `n` working days past)."""
    cal = district.work_calendar()
    d, count = day, 0
    while count < n:
        d -= timedelta(days=1)
        count += cal.is_workday(d)
    assert cal.between(d, day) == n, (d, day, n)
    return d


def days(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def order_day_for(district: District, deadline: date, workdays: int) -> date:
    """The latest working day on which an order with `workdays` to go gets exactly `deadline`."""
    cal = district.work_calendar()
    d = deadline - timedelta(days=1)
    while True:
        if cal.is_workday(d) and cal.add(d, workdays) == deadline:
            return d
        if d < deadline - timedelta(days=120):
            raise AssertionError(f"no order day gives the deadline {deadline}")
        d -= timedelta(days=1)


def rectifying_case(driver: Driver, deadline: date, *, item: str = "P02", name: str = "阳光托幼点") -> Case:
    """A case in `rectifying` whose deadline is exactly `deadline` (P02 is a general item: 20 days)."""
    severity = driver.district.item(item).severity  # type: ignore[union-attr]
    ordered = order_day_for(driver.district, deadline, driver.district.deadlines.rectification[severity])
    case = driver.open(now=at(ordered, 8), name=name)
    driver.do(case, "start_review", now=at(ordered, 9))
    result = driver.do(case, "order_rectification", failed=(item,), now=at(ordered, 10))
    assert result.case.deadline == deadline, (result.case.deadline, deadline)
    c = driver.session.get(Case, case.id)
    assert c is not None
    driver.session.refresh(c)
    return c


def fresh(engine: sa.Engine, case_id: int) -> Case:
    with Session(engine) as s:
        c = s.get(Case, case_id)
        assert c is not None
        return c


def escalations(engine: sa.Engine, case_id: int | None = None) -> list[Escalation]:
    with Session(engine) as s:
        q = select(Escalation).order_by(col(Escalation.id))
        if case_id is not None:
            q = q.where(Escalation.case_id == case_id)
        return list(s.exec(q).all())


def reminders(engine: sa.Engine, case_id: int | None = None) -> list[Reminder]:
    with Session(engine) as s:
        q = select(Reminder).order_by(col(Reminder.id))
        if case_id is not None:
            q = q.where(Reminder.case_id == case_id)
        return list(s.exec(q).all())


def notices(engine: sa.Engine, case_id: int, kinds: tuple[str, ...] = ("supervision_notice", "listed_supervision")
            ) -> list[Notice]:
    with Session(engine) as s:
        return list(s.exec(select(Notice).where(Notice.case_id == case_id, col(Notice.kind).in_(kinds))
                           .order_by(col(Notice.id))).all())


def messages(engine: sa.Engine, prefix: str = "", channel: str | None = None) -> list[Message]:
    with Session(engine) as s:
        q = select(Message).where(col(Message.dedupe_key).startswith(prefix)).order_by(col(Message.id))
        if channel:
            q = q.where(Message.channel == channel)
        return list(s.exec(q).all())


def events(engine: sa.Engine, case_id: int, trigger: str | None = None) -> list[CaseEvent]:
    with Session(engine) as s:
        q = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
        if trigger:
            q = q.where(CaseEvent.trigger == trigger)
        return list(s.exec(q).all())


# -- SMTP ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """What a real SMTP server (aiosmtpd) running in the test received."""

    port: int
    received: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    _controller: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the aiosmtpd hook
        with self._lock:
            self.received.append(message_from_bytes(envelope.original_content or envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def subjects(self) -> list[str]:
        return [str(make_header(decode_header(m["Subject"]))) for m in self.received]


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    """An SMTP server that is NOT started yet ("down"); `smtp.start()` brings it up on its port."""
    box = Inbox(port=free_port())
    yield box
    box.stop()


def with_mail(district: District, port: int) -> District:
    return district.model_copy(update={"mail": Mail(enabled=True, host="127.0.0.1", port=port,
                                                    sender="tuoyou@wuqing.example")})
