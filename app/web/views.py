"""Read-only queries behind the pages and the API: worklist, approval queue, registry, inbox, dashboard.

Every query is scoped to what the user may see (their township for inspectors and leads) and
paginated; the worklist filters on (township, state) and sorts by deadline, which the indexes
`ix_case_township_state` and `ix_case_state_deadline` serve.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from cases.config import District
from cases.errors import InvalidInput
from cases.models import Case, CaseEvent, Evidence, Message, Point, Township, User
from cases.queries import rectification_engine, sees_all, state_zh
from cases.validation import clean_search, in_id_range
from workflow.spec import Role
from workflow.workdays import WorkCalendar

_LOGGER = logging.getLogger(__name__)

PER_PAGE = 30
OPERATOR_TURN = ("rectifying",)  # the operator is rectifying: nobody in the office has to act yet
TABS: dict[str, str] = {"todo": "待我处理", "due": "即将到期", "overdue": "已逾期", "all": "全部案件"}


def _spec_states() -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    spec = rectification_engine().spec
    return (tuple(s.name for s in spec.states),
            tuple(s.name for s in spec.states if s.terminal),
            tuple(s.name for s in spec.states if s.proposal))


ALL_STATES, TERMINAL, PROPOSALS = _spec_states()


def waiting_states(role: str) -> tuple[str, ...]:
    """States in which this role has the next move (from the declaration, not a hand-kept list)."""
    spec = rectification_engine().spec
    states = {src for t in spec.transitions if role in t.roles for src in t.sources}
    return tuple(s for s in ALL_STATES if s in states and s not in OPERATOR_TURN and s not in TERMINAL)


def default_tab(user: User) -> str:
    return "todo" if waiting_states(user.role) else "all"


@dataclass(frozen=True)
class Page:
    """One page of rows with what the pager needs."""

    rows: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.per_page)


class DaysLeft:
    """Working days from today to each deadline, memoised for one request."""

    def __init__(self, calendar: WorkCalendar, today: date) -> None:
        self.calendar = calendar
        self.today = today
        self._memo: dict[date, int] = {}

    def __call__(self, deadline: date | None) -> int | None:
        if deadline is None:
            return None
        if deadline not in self._memo:
            self._memo[deadline] = self.calendar.between(self.today, deadline)
        return self._memo[deadline]


@dataclass(frozen=True)
class CaseRow:
    id: int
    point: str
    address: str
    township: str
    state: str
    state_zh: str
    round: int
    deadline: date | None
    days_left: int | None
    level: int
    updated_at: datetime
    proposal_reason: str = ""
    proposer: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "point": self.point, "address": self.address, "township": self.township,
                "state": self.state, "state_zh": self.state_zh, "round": self.round,
                "deadline": self.deadline.isoformat() if self.deadline else None, "days_left": self.days_left,
                "escalation_level": self.level, "updated_at": self.updated_at.isoformat()}


def _scope(q: Any, user: User) -> Any:
    return q if sees_all(user) else q.where(col(Case.township_id) == (user.township_id or -1))


def _township_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    t = session.exec(select(Township.id).where(Township.code == code)).first()
    if t is None:
        raise InvalidInput(f"镇街编码 {code} 不存在", f"no township with code {code}")
    return t


def worklist(
    session: Session,
    *,
    user: User,
    district: District,
    today: date,
    tab: str = "all",
    state: str | None = None,
    township: str | None = None,
    search: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """The cases this user may see, filtered by tab (todo / due / overdue / all), state, township, text."""
    if tab not in TABS:
        raise InvalidInput(f"没有名为 {tab} 的分类", f"no tab named {tab}", allowed=list(TABS))
    if state and state not in ALL_STATES:
        raise InvalidInput(f"没有名为 {state} 的状态", f"no state named {state}", allowed=list(ALL_STATES))
    cal = district.work_calendar()
    conds: list[Any] = []
    if not sees_all(user):
        conds.append(col(Case.township_id) == (user.township_id or -1))
    town_id = _township_id(session, township) if sees_all(user) else None
    if town_id is not None:
        conds.append(col(Case.township_id) == town_id)
    if state:
        conds.append(col(Case.state) == state)
    by_deadline = True
    if tab == "todo":
        conds.append(col(Case.state).in_(waiting_states(user.role)))
    elif tab == "due":
        soon = cal.add(today, max(district.ladder.reminders or [5]))
        conds += [col(Case.deadline) >= today, col(Case.deadline) <= soon]
    elif tab == "overdue":
        conds.append(sa.or_(col(Case.state) == "overdue", col(Case.deadline) < today))
    else:
        by_deadline = False
    term = clean_search(search)
    if term:
        words, case_id = search_terms(term)
        point_ids = select(Point.id).where(*[point_matches(w) for w in words])
        scope = user.township_id if not sees_all(user) else town_id
        if scope is not None:  # scan only the township's points (a substring search cannot use an index)
            point_ids = point_ids.where(col(Point.township_id) == scope)
        if case_id is not None and not words:
            conds.append(col(Case.id) == case_id)
        elif case_id is not None:
            conds.append(sa.or_(col(Case.id) == case_id, col(Case.point_id).in_(point_ids)))
        else:
            conds.append(col(Case.point_id).in_(point_ids))
    total = int(session.exec(select(func.count()).select_from(Case).where(*conds)).one())
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    if not by_deadline:
        order = [col(Case.id).desc()]
    elif tab == "todo":  # some waiting states run no deadline: those last
        order = [col(Case.deadline).is_(None), col(Case.deadline), col(Case.id)]
    else:  # every row has a deadline: (township, deadline) serves the order
        order = [col(Case.deadline), col(Case.id)]
    ids_q = select(Case.id).where(*conds).order_by(*order).offset((page - 1) * per_page).limit(per_page)
    rows = _case_rows(session, list(session.exec(ids_q).all()), DaysLeft(cal, today))
    return Page(rows=rows, total=total, page=page, per_page=per_page)


ID_MARKS = "#＃"


def search_terms(text: str) -> tuple[list[str], int | None]:
    """The words of a search (all must match), and the case id it names, if it can be one.

    "#73" and "73" name case 73 (as the pages show ids); a longer number such as a phone
    number 13812345678 is only text: it is never compared with an integer column it cannot fit.
    """
    raw = text.split()
    words = [w.lstrip(ID_MARKS) for w in raw if w.lstrip(ID_MARKS)][:8]
    case_id = None
    if len(words) == 1 and words[0].isascii() and words[0].isdigit() and len(words[0]) <= 10 \
            and in_id_range(int(words[0])):
        case_id = int(words[0])
        if raw[0][0] in ID_MARKS:  # "#73" is the case, nothing else
            return [], case_id
    return [w[:100] for w in words], case_id


def point_matches(word: str) -> Any:
    """A point matches a word in its name, operator, address or phone."""
    return (col(Point.name).contains(word, autoescape=True) | col(Point.operator).contains(word, autoescape=True)
            | col(Point.address).contains(word, autoescape=True) | col(Point.phone).contains(word, autoescape=True))


def _case_rows(session: Session, ids: list[int | None], days_left: DaysLeft) -> list[CaseRow]:
    """Full rows for a page of case ids, in the given order (one query by primary keys)."""
    if not ids:
        return []
    q = (select(Case.id, Point.name, Point.address, Township.name, Case.state, Case.round, Case.deadline,
                Case.escalation_level, Case.updated_at, Case.proposal_reason, User.display_name, Case.workflow,
                Case.workflow_version)
         .join(Point, col(Point.id) == Case.point_id)
         .join(Township, col(Township.id) == Case.township_id)
         .outerjoin(User, col(User.id) == Case.proposer_id)
         .where(col(Case.id).in_(ids)))
    found = {r[0]: r for r in session.exec(q).all()}  # type: ignore[call-overload]
    out = []
    for i in ids:
        r = found.get(i)
        if r is None:
            continue
        out.append(CaseRow(id=r[0], point=r[1], address=r[2], township=r[3], state=r[4],
                           state_zh=state_zh(r[11], r[12], r[4]),
                           round=r[5], deadline=r[6], days_left=days_left(r[6]), level=r[7], updated_at=r[8],
                           proposal_reason=r[9] or "", proposer=r[10] or ""))
    return out


def tab_counts(session: Session, *, user: User, district: District, today: date) -> dict[str, int]:
    """How many cases each worklist tab holds for this user (shown on the tabs)."""
    cal = district.work_calendar()
    soon = cal.add(today, max(district.ladder.reminders or [5]))
    base = _scope(select(func.count()).select_from(Case), user)
    waiting = waiting_states(user.role)
    return {
        "todo": int(session.exec(base.where(col(Case.state).in_(waiting))).one()) if waiting else 0,
        "due": int(session.exec(base.where(col(Case.deadline) >= today, col(Case.deadline) <= soon)).one()),
        "overdue": int(session.exec(base.where(sa.or_(col(Case.state) == "overdue",
                                                      col(Case.deadline) < today))).one()),
        "all": int(session.exec(base).one()),
    }


def approval_queue(session: Session, *, user: User, district: District, today: date, state: str | None = None,
                   page: int = 1, per_page: int = PER_PAGE) -> Page:
    """Proposals awaiting the bureau, the oldest (earliest approval deadline) first."""
    states = PROPOSALS if not state else (state,)
    if state and state not in PROPOSALS:
        raise InvalidInput(f"{state} 不是待审批状态", f"{state} is not a proposal state", allowed=list(PROPOSALS))
    conds = [col(Case.state).in_(states)]
    base = _scope(select(func.count()).select_from(Case), user).where(*conds)
    total = int(session.exec(base).one())
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    ids_q = (_scope(select(Case.id), user).where(*conds)
             .order_by(col(Case.deadline), col(Case.id))
             .offset((page - 1) * per_page).limit(per_page))
    rows = _case_rows(session, list(session.exec(ids_q).all()), DaysLeft(district.work_calendar(), today))
    return Page(rows=rows, total=total, page=page, per_page=per_page)


def proposal_counts(session: Session, *, user: User) -> dict[str, int]:
    q = _scope(select(Case.state, func.count()).where(col(Case.state).in_(PROPOSALS)), user).group_by(Case.state)
    return {s: int(n) for s, n in session.exec(q).all()}


def supervised(session: Session, *, user: User, district: District, today: date, limit: int = 10) -> list[CaseRow]:
    """The open cases highest on the supervision ladder (挂牌督办 first), for the overview."""
    q = (_scope(select(Case.id), user)
         .where(col(Case.escalation_level) > 0, col(Case.state).notin_(TERMINAL))
         .order_by(col(Case.escalation_level).desc(), col(Case.deadline), col(Case.id)).limit(limit))
    return _case_rows(session, list(session.exec(q).all()), DaysLeft(district.work_calendar(), today))


# -- registry --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointRow:
    id: int
    name: str
    address: str
    operator: str
    phone: str
    township: str
    registered_on: date
    source: str
    case_id: int | None
    state: str
    state_zh: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "address": self.address, "operator": self.operator,
                "phone": self.phone, "township": self.township, "registered_on": self.registered_on.isoformat(),
                "source": self.source, "case_id": self.case_id, "state": self.state, "state_zh": self.state_zh}


SOURCE_ZH = {"registry": "登记名册", "complaint": "群众举报（12345）", "patrol": "巡查发现"}


def points(session: Session, *, user: User, search: str | None = None, township: str | None = None,
           page: int = 1, per_page: int = PER_PAGE) -> Page:
    """The point registry as this user may see it, with each point's case and state.

    Childcare points only: an estate kindergarten awaiting its designation is a case, not a point of the registry.
    """
    eng = rectification_engine()
    conds: list[Any] = [col(Point.kind) == "childcare_point"]
    if not sees_all(user):
        conds.append(col(Point.township_id) == (user.township_id or -1))
    else:
        town_id = _township_id(session, township)
        if town_id is not None:
            conds.append(col(Point.township_id) == town_id)
    term = clean_search(search)
    if term:
        words, case_id = search_terms(term)
        conds += [point_matches(w) for w in words]
        if case_id is not None and not words:  # "#73": the point of case 73
            conds.append(col(Point.id).in_(select(Case.point_id).where(col(Case.id) == case_id)))
    total = int(session.exec(select(func.count()).select_from(Point).where(*conds)).one())
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    q = (select(Point, Township.name, Case.id, Case.state)
         .join(Township, col(Township.id) == Point.township_id)
         .outerjoin(Case, col(Case.point_id) == Point.id)
         .where(*conds).order_by(col(Point.id).desc()).offset((page - 1) * per_page).limit(per_page))
    rows = [PointRow(id=p.id, name=p.name, address=p.address, operator=p.operator, phone=p.phone, township=t,
                     registered_on=p.registered_on, source=p.source, case_id=cid, state=st or "",
                     state_zh=eng.state_zh(st) if st else "")
            for p, t, cid, st in session.exec(q).all()]  # type: ignore[call-overload]
    return Page(rows=rows, total=total, page=page, per_page=per_page)


def townships(session: Session, user: User) -> list[Township]:
    q = select(Township).order_by(col(Township.code))
    if not sees_all(user):
        q = q.where(col(Township.id) == (user.township_id or -1))
    return list(session.exec(q).all())


# -- inbox -----------------------------------------------------------------------------------


# what a message is about, from the prefix of its dedupe key (each producer names its messages)
MESSAGE_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "remind": ("期限提醒", ("remind:",)),
    "digest": ("每日汇总", ("digest:",)),
    "supervision": ("督办", ("escalate:", "progress", "supervision")),
    "case": ("办理通知", ("event:",)),
}


def message_kind(dedupe_key: str) -> str:
    for kind, (_, prefixes) in MESSAGE_KINDS.items():
        if dedupe_key.startswith(prefixes):
            return kind
    return "other"


def inbox(session: Session, *, user: User, unread_only: bool = False, kind: str | None = None, page: int = 1,
          per_page: int = PER_PAGE) -> Page:
    conds = [col(Message.user_id) == user.id, col(Message.channel) == "inbox"]
    if unread_only:
        conds.append(col(Message.status) != "read")
    if kind:
        if kind not in MESSAGE_KINDS:
            raise InvalidInput(f"没有名为 {kind} 的消息类别", f"no message kind {kind}", allowed=list(MESSAGE_KINDS))
        conds.append(sa.or_(*[col(Message.dedupe_key).startswith(p, autoescape=True)
                              for p in MESSAGE_KINDS[kind][1]]))
    total = int(session.exec(select(func.count()).select_from(Message).where(*conds)).one())
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    rows = list(session.exec(select(Message).where(*conds).order_by(col(Message.id).desc())
                             .offset((page - 1) * per_page).limit(per_page)).all())
    return Page(rows=rows, total=total, page=page, per_page=per_page)


def message_dict(m: Message) -> dict[str, Any]:
    return {"id": m.id, "subject": m.subject, "body": m.body, "case_id": m.case_id, "read": m.status == "read",
            "created_at": m.created_at.isoformat(), "read_at": m.read_at.isoformat() if m.read_at else None}


def mark_read(session: Session, *, user: User, message_id: int | None, now: datetime,
              case_id: int | None = None) -> int:
    """Mark one of the user's inbox messages, those about one case, or all of them, as read."""
    conds = [col(Message.user_id) == user.id, col(Message.channel) == "inbox", col(Message.status) != "read"]
    if message_id is not None and not in_id_range(message_id):
        return 0
    if message_id is not None:
        conds.append(col(Message.id) == message_id)
    if case_id is not None:
        conds.append(col(Message.case_id) == case_id)
    result = session.execute(sa.update(Message).where(*conds).values(status="read", read_at=now))
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- evidence --------------------------------------------------------------------------------


def evidence_for(session: Session, case_id: int) -> list[Evidence]:
    return list(session.exec(select(Evidence).where(Evidence.case_id == case_id)
                             .order_by(col(Evidence.id))).all())


# -- dashboard -------------------------------------------------------------------------------


@dataclass
class TownshipStats:
    code: str
    name: str
    total: int = 0
    working: int = 0
    proposed: int = 0
    overdue: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class Dashboard:
    by_state: dict[str, int]
    by_township: list[TownshipStats]
    levels: dict[int, int]
    overdue_state: int
    trend: list[tuple[date, int, int]]  # month, operating points at its end, of which not yet filed
    total: int


def dashboard(session: Session, *, user: User, district: District, today: date, weeks: int = 16) -> Dashboard:
    """Counts by state and township, overdue by ladder level, and operating points week by week."""
    by_state = {s: 0 for s in ALL_STATES}
    for s, n in session.exec(_scope(select(Case.state, func.count()), user).group_by(Case.state)).all():
        by_state[s] = int(n)
    towns = {t.id: TownshipStats(t.code, t.name) for t in townships(session, user)}
    q = _scope(select(Case.township_id, Case.state, func.count()), user).group_by(Case.township_id, Case.state)
    for tid, s, n in session.exec(q).all():
        ts = towns.get(tid)
        if ts is None:
            continue
        ts.total += n
        if s in TERMINAL:
            ts.outcomes[s] += n
        elif s in PROPOSALS:
            ts.proposed += n
        else:
            ts.working += n
        if s == "overdue":
            ts.overdue += n
    levels = {1: 0, 2: 0, 3: 0}
    q = (_scope(select(Case.escalation_level, func.count()), user)
         .where(col(Case.escalation_level) > 0, col(Case.state).notin_(TERMINAL)).group_by(Case.escalation_level))
    for level, n in session.exec(q).all():
        levels[min(int(level), 3)] = levels.get(min(int(level), 3), 0) + int(n)
    return Dashboard(by_state=by_state, by_township=[t for t in towns.values() if t.total or not sees_all(user)],
                     levels=levels, overdue_state=by_state.get("overdue", 0),
                     trend=_trend(session, user=user, district=district, today=today, weeks=weeks),
                     total=sum(by_state.values()))


CEASED = ("closed", "banned")
LEGAL = ("filed", "converted")


MAX_MONTHS = 60


def _month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def _trend(session: Session, *, user: User, district: District, today: date, weeks: int = 16
           ) -> list[tuple[date, int, int]]:
    """At the end of each month: points operating, and of those not yet filed or converted.

    A point operates from its real first-registration date (not the day its case was opened:
    points registered in 2020–22 count from then), until it is closed or banned; it stops
    being "not yet filed" when filed or converted. Outcomes are read from the audit. Months
    run from the first registration (at most `MAX_MONTHS`, earlier ones summed into the first).
    """
    tz = ZoneInfo(district.district.timezone)
    outcome = (*CEASED, *LEGAL)
    d_operating: Counter[date] = Counter()
    d_legal: Counter[date] = Counter()
    reg = _scope(select(Point.registered_on).join(Case, col(Case.point_id) == Point.id), user)
    for day in session.exec(reg).all():
        d_operating[day] += 1
    q = (select(CaseEvent.at, CaseEvent.from_state, CaseEvent.to_state)
         .join(Case, col(Case.id) == CaseEvent.case_id)
         .where(sa.or_(col(CaseEvent.to_state).in_(outcome), col(CaseEvent.from_state).in_(outcome))))
    for at, src, dst in session.exec(_scope(q, user)).all():  # type: ignore[call-overload]
        day = at.astimezone(tz).date()
        d_operating[day] += (src in CEASED) - (dst in CEASED)
        d_legal[day] += (dst in LEGAL) - (src in LEGAL)
    if not d_operating and not d_legal:
        return [(today.replace(day=1), 0, 0)]
    first = min([*d_operating, *d_legal, today])
    months = []
    m = date(first.year, first.month, 1)
    while m <= today:
        months.append(_month_end(m))
        m = _month_end(m) + timedelta(days=1)
    months = months[-MAX_MONTHS:]
    days = sorted(set(d_operating) | set(d_legal))
    out = []
    running_op = running_legal = 0
    i = 0
    for end in months:
        cut = min(end, today)
        while i < len(days) and days[i] <= cut:
            running_op += d_operating[days[i]]
            running_legal += d_legal[days[i]]
            i += 1
        out.append((end.replace(day=1), running_op, running_op - running_legal))
    return out


def level_names() -> dict[int, str]:
    from cases.service import LEVEL_ZH

    return dict(LEVEL_ZH)


def can_register(user: User) -> bool:
    return user.role in (Role.INSPECTOR, Role.REVIEWER, Role.ADMIN)
