"""Delivers the outbox (`message` rows) through its channels: mail over SMTP and a group-robot webhook.

One abstract `Channel` and thin channels; `deliver_pending` claims due rows, sends them,
and records the result with retries and exponential backoff.

How a message is never lost and (almost) never sent twice:

1. Claim: one `UPDATE … SET status='sending', attempts=attempts+1, next_attempt_at=now+LEASE
   WHERE id IN (SELECT … due … LIMIT n [FOR UPDATE SKIP LOCKED]) RETURNING …`, committed
   before anything is sent. Two deliverers never claim the same row (PostgreSQL: the row
   locks, skipped by the other; SQLite: the database write lock).
2. Send. 3. Only after the server accepted it (SMTP `sendmail` returned without error; the
   webhook answered 2xx with `errcode` 0) is the row marked `sent`, in its own commit.
   A failure puts it back to `pending` with `next_attempt_at = now + backoff(attempts)`, or
   to `failed` after `max_attempts` (or at once on a permanent 5xx SMTP refusal).

- Mail server down, then up: every attempt fails before acceptance, the row stays pending,
  and the first attempt after the server is back sends it, once.
- Crash after the claim, before the send: the lease runs out and a later run sends it.
- Crash in the window between the server's acceptance and the `sent` commit (one local
  commit, milliseconds): after the lease the message is sent a second time. That is the one
  duplicate SMTP cannot rule out (there is no two-phase commit with a mail server); each mail
  carries a stable `Message-ID` derived from its dedupe key, so mail systems can recognise the
  copy. Delivery is therefore at-least-once, exactly-once outside that window.
- A sender slower than the lease (`LEASE`, far above the SMTP timeout) could be overtaken;
  the SMTP timeout is kept well below it.

A reminder whose deadline was met or changed before delivery is `cancelled`, not sent; so is a
12345 reply reminder whose 工单 was answered meanwhile.
Rows of a disabled channel stay pending (not lost) until the channel is enabled.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import smtplib
import ssl
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from types import TracebackType
from typing import Any, ClassVar, Literal

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cases.complaint_reminders import parse_reply_reminder_key
from cases.config import District, Mail, Webhook
from cases.models import Case, Complaint, Message, utcnow
from cases.supervision import parse_reminder_key

_LOGGER = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)  # a claimed row is retried after this if its sender vanished
BASE_DELAY = timedelta(minutes=1)
MAX_DELAY = timedelta(hours=6)
MAX_ATTEMPTS = 10  # ~8.5 hours of retries before a message is given up as failed
BATCH = 50
SMTP_TIMEOUT = 30.0  # seconds; far below LEASE
HTTP_TIMEOUT = 10.0


class DeliveryError(Exception):
    """A channel could not hand the message over; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Outgoing:
    """One claimed outbox row, as the channels see it."""

    id: int
    channel: str
    recipient: str
    subject: str
    body: str
    dedupe_key: str
    attempts: int
    case_id: int | None
    created_at: datetime | None


def backoff(attempts: int, base: timedelta = BASE_DELAY, cap: timedelta = MAX_DELAY) -> timedelta:
    """The wait after the `attempts`-th failed attempt: base · 2^(attempts-1), capped."""
    return min(cap, base * (2 ** max(attempts - 1, 0)))


# -- channels --------------------------------------------------------------------------------


class Channel(ABC):
    """A way to hand a message over. Used as a context manager around one batch."""

    name: ClassVar[str]

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @abstractmethod
    def send(self, message: Outgoing) -> None:
        """Hand the message over; return only once it was accepted, else raise `DeliveryError`."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the batch held (connections)."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """Release what the channel holds for good (HTTP client pools)."""


class MailChannel(Channel):
    """Mail over SMTP (smtplib), one connection per batch; settings from `district.mail`."""

    name = "mail"

    def __init__(self, settings: Mail, *, sender_name: str = "", timeout: float = SMTP_TIMEOUT) -> None:
        self.settings = settings
        self.sender_name = sender_name
        self.timeout = timeout
        self._smtp: smtplib.SMTP | None = None
        self._broken: str | None = None

    def _connect(self) -> smtplib.SMTP:
        if self._broken:
            raise DeliveryError(self._broken)
        if self._smtp is None:
            s = self.settings
            try:
                smtp = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
                if s.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if s.username:
                    smtp.login(s.username, s.password)
            except (OSError, smtplib.SMTPException) as exc:
                self._broken = f"SMTP {s.host}:{s.port} 不可用 / unavailable: {exc}"
                raise DeliveryError(self._broken) from exc
            self._smtp = smtp
        return self._smtp

    def compose(self, message: Outgoing) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = formataddr((self.sender_name, s.sender)) if self.sender_name else s.sender
        mail["To"] = message.recipient
        mail["Date"] = format_datetime(message.created_at or utcnow())
        digest = hashlib.sha256(message.dedupe_key.encode()).hexdigest()[:32]
        domain = s.sender.rsplit("@", 1)[-1] or "localhost"
        mail["Message-ID"] = f"<{digest}.{message.id}@{domain}>"
        mail.set_content(f"{message.body}\n\n——\n本邮件由系统自动发送，详情请登录系统查看。\n"
                         "This message was sent automatically.\n", charset="utf-8")
        return mail

    def send(self, message: Outgoing) -> None:
        smtp = self._connect()
        try:
            refused = smtp.send_message(self.compose(message), from_addr=self.settings.sender,
                                        to_addrs=[message.recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(f"收件人被拒绝 / recipient refused: {exc.recipients}",
                                permanent=all(500 <= c < 600 for c in codes)) from exc
        except smtplib.SMTPResponseException as exc:
            if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError) and 500 <= exc.smtp_code < 600:
                raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=True) from exc
            self._drop()
            raise DeliveryError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            self._broken = f"SMTP 连接中断 / connection lost: {exc}"
            raise DeliveryError(self._broken) from exc
        if refused:
            raise DeliveryError(f"收件人被拒绝 / recipient refused: {refused}")

    def _drop(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._smtp.close()
            self._smtp = None
        self._broken = None


class WebhookChannel(Channel):
    """A 企业微信 (wecom) or 钉钉 (dingtalk) group robot: JSON text or markdown over HTTPS (httpx)."""

    name = "webhook"

    def __init__(self, settings: Webhook, *, fmt: Literal["text", "markdown"] = "text",
                 timeout: float = HTTP_TIMEOUT, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.fmt = fmt
        self._client = httpx.Client(timeout=timeout, transport=transport)

    def payload(self, message: Outgoing) -> dict[str, Any]:
        if self.fmt == "text":
            return {"msgtype": "text", "text": {"content": f"{message.subject}\n{message.body}"}}
        if self.settings.kind == "dingtalk":
            return {"msgtype": "markdown",
                    "markdown": {"title": message.subject, "text": f"#### {message.subject}\n\n{message.body}"}}
        return {"msgtype": "markdown", "markdown": {"content": f"**{message.subject}**\n{message.body}"}}

    def send(self, message: Outgoing) -> None:
        try:
            resp = self._client.post(self.settings.url, json=self.payload(message))
        except httpx.HTTPError as exc:
            raise DeliveryError(f"webhook 不可用 / unreachable: {exc}") from exc
        if resp.status_code >= 300:
            raise DeliveryError(f"webhook HTTP {resp.status_code}: {resp.text[:200]}",
                                permanent=400 <= resp.status_code < 500 and resp.status_code != 429)
        try:
            answer = resp.json()
        except ValueError:
            answer = {}
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code:
            raise DeliveryError(f"webhook errcode {code}: {answer.get('errmsg', '')}")

    def shutdown(self) -> None:
        self._client.close()


def channels_for(district: District) -> dict[str, Channel]:
    """The channels the district has enabled (mail, webhook)."""
    out: dict[str, Channel] = {}
    if district.mail.enabled:
        out["mail"] = MailChannel(district.mail, sender_name=district.district.bureau)
    if district.webhook.enabled and district.webhook.url:
        out["webhook"] = WebhookChannel(district.webhook)
    return out


# -- delivery --------------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"claimed": self.claimed, "sent": self.sent, "retried": self.retried, "failed": self.failed,
                "cancelled": self.cancelled}


_T = Message.__table__  # type: ignore[attr-defined]


def claim(engine: Engine, now: datetime, channels: list[str], limit: int = BATCH,
          lease: timedelta = LEASE) -> list[Outgoing]:
    """Claim up to `limit` due rows of these channels for this deliverer (committed)."""
    if not channels:
        return []
    due = sa.and_(_T.c.status.in_(("pending", "sending")), _T.c.next_attempt_at <= now,
                  _T.c.channel.in_(channels))
    pick = sa.select(_T.c.id).where(due).order_by(_T.c.next_attempt_at, _T.c.id).limit(limit)
    if engine.dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    stmt = (_T.update().where(_T.c.id.in_(pick.scalar_subquery()), due)
            .values(status="sending", attempts=_T.c.attempts + 1, next_attempt_at=now + lease)
            .returning(_T.c.id, _T.c.channel, _T.c.recipient, _T.c.subject, _T.c.body, _T.c.dedupe_key,
                       _T.c.attempts, _T.c.case_id, _T.c.created_at))
    with Session(engine) as s:
        rows = s.execute(stmt).all()
        s.commit()
    return sorted((Outgoing(*r) for r in rows), key=lambda m: m.id)


def _finish(engine: Engine, msg_id: int, values: dict[str, Any]) -> None:
    with Session(engine) as s:
        s.execute(_T.update().where(_T.c.id == msg_id, _T.c.status == "sending").values(**values))
        s.commit()


def _stale_reminders(engine: Engine, batch: list[Outgoing]) -> set[int]:
    """Ids of claimed reminder messages whose deadline was met or changed (or 工单 answered) since they were queued."""
    keyed = {m.id: parse_reminder_key(m.dedupe_key) for m in batch}
    keyed = {k: v for k, v in keyed.items() if v is not None}
    replies = {m.id: c for m in batch if (c := parse_reply_reminder_key(m.dedupe_key)) is not None}
    if not keyed and not replies:
        return set()
    case_ids = {v[0] for v in keyed.values() if v}
    with Session(engine) as s:
        current = {r[0]: (r[1], r[2]) for r in s.execute(
            select(Case.id, Case.deadline, Case.deadline_kind).where(col(Case.id).in_(case_ids))).all()
        } if case_ids else {}
        still_open = set(s.execute(select(Complaint.id).where(
            col(Complaint.id).in_(set(replies.values())), Complaint.status == "open")).scalars()) if replies else set()
    stale = {mid for mid, v in keyed.items() if v and current.get(v[0]) != (v[1], v[2])}
    return stale | {mid for mid, c in replies.items() if c not in still_open}


def deliver_pending(
    engine: Engine,
    district: District,
    now: datetime | None = None,
    *,
    channels: dict[str, Channel] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
    batch: int = BATCH,
    max_batches: int = 20,
) -> DeliveryReport:
    """Send the due outbox rows of the enabled channels; record sent / retry / failed."""
    now = now or utcnow()
    own = channels is None
    chans = channels_for(district) if channels is None else channels
    try:
        return _deliver(engine, now, chans, max_attempts=max_attempts, batch=batch, max_batches=max_batches)
    finally:
        if own:
            for chan in chans.values():
                chan.shutdown()


def _deliver(engine: Engine, now: datetime, chans: dict[str, Channel], *, max_attempts: int, batch: int,
             max_batches: int) -> DeliveryReport:
    report = DeliveryReport()
    for _ in range(max_batches):
        claimed = claim(engine, now, sorted(chans), limit=batch)
        if not claimed:
            break
        report.claimed += len(claimed)
        stale = _stale_reminders(engine, claimed)
        for name, chan in chans.items():
            todo = [m for m in claimed if m.channel == name]
            if not todo:
                continue
            with chan:
                for m in todo:
                    if m.id in stale:
                        _finish(engine, m.id, {"status": "cancelled", "next_attempt_at": None,
                                               "last_error": "期限已变更或已办结 / deadline met or changed"})
                        report.cancelled += 1
                        continue
                    try:
                        chan.send(m)
                    except DeliveryError as exc:
                        give_up = exc.permanent or m.attempts >= max_attempts
                        _finish(engine, m.id, {
                            "status": "failed" if give_up else "pending",
                            "next_attempt_at": None if give_up else now + backoff(m.attempts),
                            "last_error": str(exc)[:500],
                        })
                        if give_up:
                            report.failed += 1
                            _LOGGER.warning("message %s to %s failed for good after %d attempts: %s",
                                            m.id, m.recipient, m.attempts, exc)
                        else:
                            report.retried += 1
                            _LOGGER.info("message %s to %s: attempt %d failed, retry at %s: %s",
                                         m.id, m.recipient, m.attempts, now + backoff(m.attempts), exc)
                        continue
                    _finish(engine, m.id, {"status": "sent", "sent_at": now, "next_attempt_at": None,
                                           "last_error": ""})
                    report.sent += 1
        if len(claimed) < batch:
            break
    return report
