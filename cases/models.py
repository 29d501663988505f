"""The records: townships, users, points, cases, inspections, notices, the audit and the outbox.

Datetimes are stored as aware UTC (`UTCDateTime`) and shown in Asia/Shanghai by the faces.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import JSON, Column, Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite hands back naive values otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store aware UTC datetimes")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False, **kw))


def _ts_null(**kw: Any) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=True, **kw))


# -- township --------------------------------------------------------------------------------


class Township(SQLModel, table=True):
    """A 镇/街道 of the district (copied from the district config by `tuoyou init`)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=32)
    name: str = Field(max_length=64)


# -- user ------------------------------------------------------------------------------------


class User(SQLModel, table=True):
    """A person (or the system actor) with one role; inspectors and leads belong to a township."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=64)
    display_name: str = Field(default="", max_length=64)
    role: str = Field(max_length=16)
    township_id: int | None = Field(default=None, foreign_key="township.id", index=True)
    email: str = Field(default="", max_length=128)
    password_hash: str = Field(default="", max_length=256)
    token_hash: str = Field(default="", max_length=128, index=True)
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = _ts_null()
    created_at: datetime = _ts()


# -- point -----------------------------------------------------------------------------------


class Point(SQLModel, table=True):
    """A private childcare point (民办托幼点) as in the registry."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    address: str = Field(max_length=300)
    operator: str = Field(max_length=100)
    phone: str = Field(default="", max_length=40)
    registered_on: date
    source: str = Field(default="registry", max_length=16)  # registry / complaint / patrol / estate
    kind: str = Field(default="childcare_point", max_length=24)  # childcare_point / estate_kindergarten
    children: int | None = None
    created_at: datetime = _ts()
    # == issue #9: one file per point, and the basis of the registration date ==
    basis: str = Field(default="", max_length=500)  # documentary basis of registered_on (原备案台账第37号)
    place_key: str = Field(default="", max_length=520, index=True)  # normalised name + address
    contact_key: str = Field(default="", max_length=160, index=True)  # normalised operator + phone ("" without phone)


# -- case ------------------------------------------------------------------------------------


_case_version = sa.Column("version", sa.Integer, nullable=False, default=1)


class Case(SQLModel, table=True):
    """One point's rectification case. Only `cases.service.advance` changes its state.

    `version` is the optimistic lock: SQLAlchemy adds `WHERE version = <read>` to every
    UPDATE and bumps it, so a writer that read a stale row fails instead of overwriting.
    """

    __table_args__ = (
        sa.Index("ix_case_township_state", "township_id", "state"),
        sa.Index("ix_case_state_deadline", "state", "deadline"),
    )

    id: int | None = Field(default=None, primary_key=True)
    point_id: int = Field(foreign_key="point.id", index=True)
    township_id: int = Field(foreign_key="township.id")
    workflow: str = Field(default="rectification", max_length=32)
    workflow_version: int = 1  # the declaration the case was opened under (workflow/registry.py)
    state: str = Field(default="registered", max_length=32)
    version: int = Field(default=1, sa_column=_case_version)
    round: int = 0
    deadline: date | None = None
    deadline_kind: str | None = Field(default=None, max_length=16)
    saved_deadline: date | None = None
    saved_deadline_kind: str | None = Field(default=None, max_length=16)
    deadline_set_on: date | None = None
    escalation_level: int = 0
    proposer_id: int | None = Field(default=None, foreign_key="app_user.id")
    return_stack: str = Field(default="", max_length=200)
    proposal_reason: str = Field(default="")
    target: str = Field(default="", max_length=200)  # conversion target institution
    registered_on: date | None = None  # copied from the point: the cut-off guard reads it
    proposed_on: date | None = None  # when the pending proposal was made: a send-back adds the days it waited
    last_seq: int = 0  # sequence of the last audit event
    last_hash: str = Field(default="", max_length=64)
    opened_at: datetime = _ts()
    updated_at: datetime = _ts()

    __mapper_args__ = {"version_id_col": _case_version}


# -- inspection ------------------------------------------------------------------------------


class Inspection(SQLModel, table=True):
    """Checklist results of one on-site inspection: {code: "pass" | "fail" | "major" | "na"}."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    inspector_id: int | None = Field(default=None, foreign_key="app_user.id")
    trigger: str = Field(max_length=32)
    round: int = 0
    results: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = _ts()
    # photos per item: {code: [sha256, …]} (issue #9); results may also say "na" (不适用)
    evidence: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False, server_default=sa.text("'{}'")))


# -- notices ---------------------------------------------------------------------------------


class NoticeCounter(SQLModel, table=True):
    """The last number given per series: district, notice kind, issuing body's series and year (gap-free)."""

    __tablename__ = "notice_counter"

    district: str = Field(primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=32)
    # "" for the kind's common series ([notices.prefixes]); the issuing body ("committee") when the
    # district gives it its own prefix for the kind ([notices.issuer_prefixes.committee])
    series: str = Field(default="", primary_key=True, max_length=32)
    year: int = Field(primary_key=True)
    last: int = 0


class Notice(SQLModel, table=True):
    """A notice (公文) a case produced: its number and everything needed to render it."""

    __tablename__ = "notice"
    __table_args__ = (sa.UniqueConstraint("district", "kind", "series", "year", "seq", name="uq_notice_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=64)  # 武清教整〔2026〕12号
    district: str = Field(max_length=32)
    kind: str = Field(max_length=32, index=True)
    series: str = Field(default="", max_length=32)  # the numbering series (see NoticeCounter)
    year: int
    seq: int
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    event_id: int | None = None
    addressee: str = Field(max_length=200)
    issuer: str = Field(max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    content_hash: str = Field(default="", max_length=64)  # sha256 of the canonical data
    verify_code: str = Field(default="", max_length=16, index=True)
    pdf_sha256: str = Field(default="", max_length=64, index=True)
    pdf_path: str = Field(default="", max_length=300)
    issued_on: date
    created_at: datetime = _ts()


# -- audit -----------------------------------------------------------------------------------


class CaseEvent(SQLModel, table=True):
    """One transition of one case: append-only, hash-chained per case (`prev_hash` → `hash`)."""

    __tablename__ = "case_event"
    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    seq: int
    at: datetime = _ts()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    actor: str = Field(max_length=64)
    role: str = Field(max_length=16)
    trigger: str = Field(max_length=32)
    from_state: str = Field(max_length=32)
    to_state: str = Field(max_length=32)
    reason: str = ""
    evidence: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    notice_number: str = Field(default="", max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


# -- outbox ----------------------------------------------------------------------------------


class Message(SQLModel, table=True):
    """A notification in the outbox, written in the same transaction as the event behind it.

    `channel` is inbox, mail or webhook; `dedupe_key` makes each message exist once.
    """

    __table_args__ = (sa.Index("ix_message_pending", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    dedupe_key: str = Field(unique=True, max_length=200)
    channel: str = Field(max_length=16)
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    recipient: str = Field(default="", max_length=200)
    subject: str = Field(max_length=300)
    body: str
    status: str = Field(default="pending", max_length=16)  # pending / sent / failed / read
    attempts: int = 0
    last_error: str = ""
    next_attempt_at: datetime | None = _ts_null()
    created_at: datetime = _ts()
    sent_at: datetime | None = _ts_null()
    read_at: datetime | None = _ts_null()


# == web app (issue #5): browser sessions and uploaded evidence ==============================


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, the table only its sha256.

    Signing out deletes the row, so a copied cookie stops working at once. `csrf_token` is
    the per-session token every form posts back.
    """

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    user_agent: str = Field(default="", max_length=200)


class Evidence(SQLModel, table=True):
    """A photo (JPEG/PNG) or PDF uploaded to a case, stored once by its sha256 under the data dir."""

    __table_args__ = (sa.UniqueConstraint("case_id", "sha256", name="uq_evidence_case_sha"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    filename: str = Field(default="", max_length=200)  # as uploaded, for display only
    content_type: str = Field(max_length=32)  # image/jpeg, image/png or application/pdf
    size: int
    thumbnail: bool = False  # a JPEG thumbnail sits beside the file
    uploaded_by: int | None = Field(default=None, foreign_key="app_user.id")
    uploaded_at: datetime = _ts()


# the worklist's "due soon" and "overdue" tabs of one township, read in deadline order
sa.Index(
    "ix_case_township_deadline",
    Case.__table__.c.township_id,  # type: ignore[attr-defined]
    Case.__table__.c.deadline,  # type: ignore[attr-defined]
)


# == issue #9: cases that may be one point (一点一档) ==========================================


class CaseLink(SQLModel, table=True):
    """A new registration tied to an earlier case it matches (same name and address, or operator and phone).

    `kind` is `duplicate` (registered although the earlier case is still a file of this point, by a
    confirmed override) or `reappeared` (the earlier point was banned or closed). Both cases show it.
    """

    __tablename__ = "case_link"
    __table_args__ = (sa.UniqueConstraint("case_id", "other_case_id", name="uq_case_link"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)  # the new registration
    other_case_id: int = Field(foreign_key="case.id", index=True)  # the earlier case it matches
    kind: str = Field(max_length=16)  # duplicate / reappeared
    match: str = Field(max_length=16)  # place (name + address) / contact (operator + phone)
    other_state: str = Field(max_length=32)  # the earlier case's state when the link was made
    actor_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()


# == scheduler (issue #3): reminder and escalation claims =====================================


class Escalation(SQLModel, table=True):
    """One rung of the supervision ladder taken by one case for one missed deadline.

    The unique key (case, deadline, kind, level) is the claim: it is inserted in the same
    transaction as the supervision notice, the audit event and the notifications, so each
    rung is taken exactly once, however often or however many schedulers sweep.
    `kind` is the missed deadline's kind (`rectification`, …, `approval`).
    """

    __table_args__ = (sa.UniqueConstraint("case_id", "deadline", "kind", "level", name="uq_escalation_key"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    deadline: date
    kind: str = Field(max_length=16)
    level: int
    state: str = Field(max_length=32)  # the case's state when it escalated
    overdue_days: int = 0  # working days past the deadline when it escalated
    notice_number: str = Field(default="", max_length=64)
    event_id: int | None = None
    done_on: date  # local date
    done_at: datetime = _ts()
    passed: bool = False  # a lower rung a catch-up stepped over: recorded as passed, no notice sent
    answered_event_id: int | None = None  # the 督办反馈 (report_progress) event that answered the notice
    reply_reported_on: date | None = None  # local date the missing reply was reminded and reported upward


class Reminder(SQLModel, table=True):
    """One reminder sent `days_before` working days before one deadline of one case (exactly once)."""

    __table_args__ = (
        sa.UniqueConstraint("case_id", "deadline", "kind", "days_before", name="uq_reminder_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id")
    deadline: date
    kind: str = Field(max_length=16)
    days_before: int
    sent_on: date  # local date
    created_at: datetime = _ts()


# The ladder sweep asks "which cases in these states sit at level L with a deadline before D?":
# one index range per (state, level), so its cost follows what is due, not how many cases rot at level 3.
sa.Index(
    "ix_case_state_level_deadline",
    Case.__table__.c.state,  # type: ignore[attr-defined]
    Case.__table__.c.escalation_level,  # type: ignore[attr-defined]
    Case.__table__.c.deadline,  # type: ignore[attr-defined]
)


# == campaign (issue #11): the figures behind the three rates (三率) ===========================


class TownshipStat(SQLModel, table=True):
    """One township's kindergarten figures for one year, imported or typed by the bureau.

    The three rates (学前三年毛入园率, 普惠性幼儿园覆盖率, 公办园在园幼儿占比) are computed from
    these counts (`cases.indicators`); one row per township and year, a later import replaces it.
    """

    __tablename__ = "township_stat"
    __table_args__ = (sa.UniqueConstraint("township_id", "year", name="uq_township_stat_year"),)

    id: int | None = Field(default=None, primary_key=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    year: int
    population: int  # 常住适龄幼儿数 (resident children of kindergarten age)
    enrolled: int  # 在园幼儿数 (children in kindergartens, all kinds)
    public: int  # 公办园在园幼儿数
    inclusive_private: int  # 普惠性民办园在园幼儿数
    source: str = Field(default="import", max_length=16)  # import / form
    updated_by: int | None = Field(default=None, foreign_key="app_user.id")
    updated_at: datetime = _ts()


class Complaint(SQLModel, table=True):
    """A 12345 接诉即办 工单 about a point: the case it opened, reopened or was recorded on, and the reply.

    The 工单号 is recorded in the case's audit chain too (`receive_complaint` / `reopen`, `reply_complaint`).
    """

    __tablename__ = "complaint"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True, max_length=64)  # 工单号
    case_id: int = Field(foreign_key="case.id", index=True)
    township_id: int = Field(foreign_key="township.id", index=True)
    summary: str = ""  # 诉求内容
    received_on: date
    reply_due: date
    outcome: str = Field(max_length=16)  # opened / reopened / recorded: what the 工单 did to the case
    status: str = Field(default="open", max_length=16)  # open / replied
    reply: str = ""
    replied_on: date | None = None
    created_by: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = _ts()


# == verification and the district seal (issues #8.6, #10.1) =================================


class NoticeRendering(SQLModel, table=True):
    """One PDF file issued for a notice: every rendering is kept, so a re-render never disowns a copy.

    `sha256` is the file's hash; `content` the canonical drawn content (`cases.notices.fingerprint`,
    compressed), filled in when the rendering is recorded or, for files recorded before, when it is
    first needed; `fingerprint` its sha256. `event_id` is the case event that chained this rendering.
    """

    __tablename__ = "notice_rendering"
    __table_args__ = (sa.UniqueConstraint("notice_id", "sha256", name="uq_notice_rendering_sha"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    size: int = 0
    fingerprint: str = Field(default="", max_length=64)
    content: bytes | None = Field(default=None, sa_column=Column(sa.LargeBinary, nullable=True))
    path: str = Field(default="", max_length=300)
    event_id: int | None = None
    rendered_at: datetime = _ts()


class AuditSeal(SQLModel, table=True):
    """The district's seal: a periodic anchor over every case's chain head, itself hash-chained.

    `hash` covers the previous seal's hash, the time and the anchors this seal added (the heads
    that moved since the previous seal); its first 16 characters are printed in each 督查通报.
    """

    __tablename__ = "audit_seal"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    sealed_at: datetime = _ts()
    cases: int = 0  # cases in the district when sealed
    events: int = 0  # sum of their chain lengths
    anchors: int = 0  # heads recorded by this seal (those that moved)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class SealAnchor(SQLModel, table=True):
    """One case's chain head (seq, hash) as a seal saw it; the chain may grow past it, never rewind."""

    __tablename__ = "seal_anchor"

    seal_id: int = Field(foreign_key="audit_seal.id", primary_key=True)
    case_id: int = Field(primary_key=True, index=True)  # no foreign key: it must outlive a deleted case
    seq: int
    hash: str = Field(max_length=64)


# == service of notices (送达, issue #8) ==================================================



class NoticeService(SQLModel, table=True):
    """How, when, to whom and by whom one notice was served (送达); at most one per notice.

    Deadlines counted "自送达之日起" run from `served_on`. `receipt_number` is the 送达回证 issued for it.
    """

    __tablename__ = "notice_service"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", unique=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    method: str = Field(max_length=16)  # direct / left / mail / electronic / public
    served_on: date  # local date of service
    recipient: str = Field(default="", max_length=100)
    served_by: int | None = Field(default=None, foreign_key="app_user.id")
    receipt_number: str = Field(default="", max_length=64)
    event_id: int | None = None
    created_at: datetime = _ts()


# == web app (issue #9): what a form held when it could not be saved ==========================


class FormDraft(SQLModel, table=True):
    """What a user typed into a page's form and could not save yet, kept on the server.

    A form posted after the session ended, or refused by a rule, is kept here so that the page
    it came from (`page`, e.g. `/cases/12`) shows it again, with `message` (why it was kept).
    `kind` is `form` for an action form, `inspection` for a checklist recorded but not yet
    followed by its action. Uploaded files sit in the content store; `files` lists them.
    """

    __tablename__ = "form_draft"
    __table_args__ = (sa.UniqueConstraint("user_id", "page", "kind", name="uq_form_draft_page"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="case.id")
    page: str = Field(max_length=200)
    kind: str = Field(default="form", max_length=16)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    files: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    message: str = ""
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
