"""Outbox delivery: a real SMTP server that is down and comes back, retries, crashes, and the webhook."""

from __future__ import annotations

import json
import threading
from datetime import date, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, select

from cases.config import District, Webhook
from cases.models import Message
from scheduler.delivery import (
    LEASE,
    DeliveryReport,
    MailChannel,
    Outgoing,
    WebhookChannel,
    backoff,
    claim,
    deliver_pending,
)
from scheduler.sweeps import SweepReport
from scheduler.sweeps import sweep as _sweep
from tests.conftest import Driver, People
from tests.scheduler.conftest import Inbox, at, messages, rectifying_case, with_mail

DEADLINE = date(2026, 11, 6)
TICK = date(2026, 11, 24)  # 12 working days overdue: three rungs, three mails (lead, reviewer, committee)
RUNG_DAYS = (date(2026, 11, 9), date(2026, 11, 13))  # levels 1 and 2 on their own days (the scheduler was up)


def sweep(*args: Any, **kw: Any) -> SweepReport:
    """A sweep without chasing late 督办 replies: these tests count the ladder's own mail."""
    return _sweep(*args, replies=False, **kw)


def _climb(engine: sa.Engine, district: District) -> None:
    """Take levels 1 and 2 on their days without delivering, so that TICK adds level 3 (a catch-up would
    take only the highest rung and send one mail)."""
    for day in RUNG_DAYS:
        sweep(engine, district, at(day), deliver=False)


def _mail_rows(engine: sa.Engine) -> list[Message]:
    return messages(engine, channel="mail")


def test_mail_server_down_then_up_delivers_each_mail_once(engine: sa.Engine, district: District, driver: Driver,
                                                          people: People, smtp: Inbox) -> None:
    d = with_mail(district, smtp.port)
    rectifying_case(driver, DEADLINE)
    _climb(engine, d)
    now = at(TICK)
    down = sweep(engine, d, now)  # the server is down
    mails = [m for m in _mail_rows(engine) if m.dedupe_key.startswith("escalate:")]
    assert {m.recipient for m in mails} == {people.lead.email, people.reviewer.email, people.committee.email}
    assert down.delivery is not None and (down.delivery.sent, down.delivery.retried) == (0, len(mails))
    for m in _mail_rows(engine):
        assert (m.status, m.attempts) == ("pending", 1)
        assert "SMTP" in m.last_error and m.next_attempt_at == now + timedelta(minutes=1)
    # not yet time to retry: nothing is claimed
    assert sweep(engine, d, now + timedelta(seconds=30)).delivery == DeliveryReport()
    smtp.start()  # the server comes back
    up = sweep(engine, d, now + timedelta(minutes=2))
    assert up.delivery is not None and up.delivery.sent == len(mails)
    assert sorted(to for _, rcpt in smtp.envelopes for to in rcpt) == sorted(m.recipient for m in mails)
    assert all((m.status, m.attempts, m.last_error) == ("sent", 2, "") for m in _mail_rows(engine))
    later = sweep(engine, d, now + timedelta(hours=3))
    assert later.delivery is not None and later.delivery.claimed == 0
    assert len(smtp.received) == len(mails)
    subjects = smtp.subjects()
    assert any(s.startswith("【镇街督办】阳光托幼点") for s in subjects)
    assert any(s.startswith("【挂牌督办】") for s in subjects)
    first = smtp.received[0]
    assert first["From"].endswith("<tuoyou@wuqing.example>") and first["Message-ID"]
    assert "逾期" in first.get_payload(decode=True).decode("utf-8")
    assert len({m["Message-ID"] for m in smtp.received}) == len(mails)


def test_retries_back_off_then_give_up(engine: sa.Engine, district: District, driver: Driver, smtp: Inbox) -> None:
    d = with_mail(district, smtp.port)
    rectifying_case(driver, DEADLINE)
    _climb(engine, d)
    now = at(TICK)
    sweep(engine, d, now, deliver=False)
    n = len(_mail_rows(engine))
    waits = []
    for attempt in range(1, 4):
        report = deliver_pending(engine, d, now, max_attempts=3)
        rows = _mail_rows(engine)
        assert {r.attempts for r in rows} == {attempt}
        if attempt < 3:
            assert report.retried == n and {r.status for r in rows} == {"pending"}
            [nxt] = {r.next_attempt_at for r in rows}
            assert nxt is not None
            waits.append(nxt - now)
            now = nxt
        else:
            assert report.failed == n and {r.status for r in rows} == {"failed"}
            assert {r.next_attempt_at for r in rows} == {None}
    assert waits == [timedelta(minutes=1), timedelta(minutes=2)]
    assert [backoff(k) for k in (1, 2, 3, 10, 20)] == [timedelta(minutes=m) for m in (1, 2, 4, 360, 360)]
    smtp.start()
    assert deliver_pending(engine, d, now + timedelta(days=1)).claimed == 0  # given up stays given up
    assert smtp.received == []


def test_two_deliverers_at_once_send_each_mail_once(engine: sa.Engine, district: District, driver: Driver,
                                                    smtp: Inbox) -> None:
    d = with_mail(district, smtp.port)
    for i in range(4):
        rectifying_case(driver, DEADLINE, name=f"托幼点{i}")
    _climb(engine, d)
    sweep(engine, d, at(TICK), deliver=False)
    n = len(_mail_rows(engine))
    assert n == 12
    smtp.start()
    barrier = threading.Barrier(3)
    reports: list[DeliveryReport] = []

    def run() -> None:
        barrier.wait()
        reports.append(deliver_pending(engine, d, at(TICK), batch=2))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.sent for r in reports) == n
    assert len(smtp.received) == n
    assert {m.status for m in _mail_rows(engine)} == {"sent"}


def test_a_deliverer_that_dies_after_claiming_is_taken_over_after_the_lease(
        engine: sa.Engine, district: District, driver: Driver, smtp: Inbox) -> None:
    d = with_mail(district, smtp.port)
    rectifying_case(driver, DEADLINE)
    _climb(engine, d)
    now = at(TICK)
    sweep(engine, d, now, deliver=False)
    smtp.start()
    claimed = claim(engine, now, ["mail"])  # ... and the process dies before sending
    assert len(claimed) == 3 and {m.status for m in _mail_rows(engine)} == {"sending"}
    assert deliver_pending(engine, d, now + timedelta(minutes=1)).claimed == 0  # still leased
    report = deliver_pending(engine, d, now + LEASE + timedelta(seconds=1))
    assert report.sent == 3 and len(smtp.received) == 3


def test_a_reminder_whose_deadline_was_met_is_cancelled_not_sent(engine: sa.Engine, district: District,
                                                                 driver: Driver, people: People,
                                                                 smtp: Inbox) -> None:
    d = with_mail(district, smtp.port)
    deadline = date(2026, 11, 20)
    case = rectifying_case(driver, deadline)
    sweep(engine, d, at(date(2026, 11, 19)))  # the 1-day reminder; the mail server is down
    [mail] = [m for m in _mail_rows(engine) if m.dedupe_key.startswith("remind:")]
    assert (mail.recipient, mail.status) == (people.inspector.email, "pending")
    driver.do(case, "request_reinspection", now=at(date(2026, 11, 19), 11))  # done before the deadline
    smtp.start()
    report = sweep(engine, d, at(date(2026, 11, 19), 12))
    assert report.delivery is not None and report.delivery.cancelled == 1
    with Session(engine) as s:
        row = s.exec(select(Message).where(Message.id == mail.id)).one()
    assert row.status == "cancelled"
    assert smtp.received == []


def test_mail_channel_composes_chinese_mail(district: District) -> None:
    chan = MailChannel(with_mail(district, 2525).mail, sender_name=district.district.bureau)
    msg = chan.compose(Outgoing(id=7, channel="mail", recipient="lead@example.test", subject="【镇街督办】阳光托幼点",
                                body="请立即整改。", dedupe_key="escalate:1:2026-11-06:rectification:1:mail:3",
                                attempts=1, case_id=1, created_at=at(TICK)))
    again = chan.compose(Outgoing(7, "mail", "lead@example.test", "x", "y",
                                  "escalate:1:2026-11-06:rectification:1:mail:3", 2, 1, at(TICK)))
    assert msg["Message-ID"] == again["Message-ID"]  # stable across retries
    assert msg["Subject"] == "【镇街督办】阳光托幼点" and "请立即整改" in msg.get_content()


def test_webhook_posts_group_robot_json_and_retries_on_errcode(engine: sa.Engine, district: District,
                                                                driver: Driver) -> None:
    posted: list[dict[str, object]] = []
    answers = iter([{"errcode": 93000, "errmsg": "invalid webhook url"}] + [{"errcode": 0, "errmsg": "ok"}] * 10)

    def robot(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(200, json=next(answers))

    hook = Webhook(url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test", kind="wecom", enabled=True)
    d = district.model_copy(update={"webhook": hook})
    rectifying_case(driver, DEADLINE)
    _climb(engine, d)
    chans = {"webhook": WebhookChannel(hook, transport=httpx.MockTransport(robot))}
    first = sweep(engine, d, at(TICK), channels=chans)
    rows = messages(engine, channel="webhook")
    assert len(rows) == 3  # one per rung, for the group
    assert first.delivery is not None and (first.delivery.sent, first.delivery.retried) == (2, 1)
    second = sweep(engine, d, at(TICK) + timedelta(minutes=5), channels=chans)
    assert second.delivery is not None and second.delivery.sent == 1
    assert {m.status for m in messages(engine, channel="webhook")} == {"sent"}
    assert posted[0]["msgtype"] == "text"
    content = posted[0]["text"]["content"]  # type: ignore[index]
    assert content.startswith("【镇街督办】") and "督办通知书" in content
    md = WebhookChannel(Webhook(url="https://oapi.dingtalk.com/robot/send?access_token=t", kind="dingtalk",
                                enabled=True), fmt="markdown")
    out = Outgoing(1, "webhook", "", "【挂牌督办】阳光托幼点", "正文", "k", 1, 1, at(TICK))
    title = "【挂牌督办】阳光托幼点"
    assert md.payload(out) == {"msgtype": "markdown", "markdown": {"title": title, "text": f"#### {title}\n\n正文"}}


class RefusingInbox(Inbox):
    """An SMTP server that refuses one mailbox for good (550)."""

    refuse: str = ""

    async def handle_RCPT(self, server: object, session: object, envelope: Any, address: str,  # the aiosmtpd hook
                          rcpt_options: list[str]) -> str:
        if address == self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_mailbox_refused_for_good_fails_at_once_and_the_rest_go_out(engine: sa.Engine, district: District,
                                                                      driver: Driver, people: People,
                                                                      smtp: Inbox) -> None:
    server = RefusingInbox(port=smtp.port)
    server.refuse = people.lead.email
    server.start()
    try:
        d = with_mail(district, smtp.port)
        rectifying_case(driver, DEADLINE)
        _climb(engine, d)
        report = sweep(engine, d, at(TICK))
        assert report.delivery is not None and (report.delivery.sent, report.delivery.failed) == (2, 1)
        rows = {m.recipient: m for m in _mail_rows(engine)}
        assert (rows[people.lead.email].status, rows[people.lead.email].attempts) == ("failed", 1)
        assert "550" in rows[people.lead.email].last_error
        assert sorted(to for _, rcpt in server.envelopes for to in rcpt) == sorted(
            [people.reviewer.email, people.committee.email])
    finally:
        server.stop()
