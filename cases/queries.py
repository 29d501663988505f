"""Reading cases as a given user sees them: township scoping, lists, one case with its timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from cases.config import District
from cases.errors import NotFound
from cases.models import Case, CaseEvent, Inspection, Notice, Point, Township, User
from cases.registry import links_of, registration_facts
from cases.statements import Prepared
from workflow.engine import Engine, engine_for
from workflow.rectification import RECTIFICATION
from workflow.registry import WORKFLOWS, spec_for
from workflow.registry import current as current_workflow

TOWNSHIP_ROLES = ("inspector", "lead")
# audit events that are not transitions
EXTRA_TRIGGERS_ZH = {"open": "立案", "escalate": "督办升级", "serve": "送达", "render": "生成文书文件"}
ACTIVE_STATES = ("rectifying", "overdue", "reinspecting", "refused", "enforcement")


def rectification_engine() -> Engine:
    return engine_for(RECTIFICATION)


def case_engine(case: Any) -> Engine:
    """The engine of the declaration (name and version) the case was opened under."""
    return engine_for(spec_for(case.workflow, case.workflow_version))


def all_states() -> list[str]:
    """Every state name of every declared workflow (a state filter accepts any of them)."""
    return list(dict.fromkeys(s.name for spec in WORKFLOWS.values() for s in spec.states))


def terminal_states() -> set[str]:
    """States that end a case in some declared workflow (no state name is terminal in one and live in another)."""
    return {s.name for spec in WORKFLOWS.values() for s in spec.states if s.terminal}


def state_zh(workflow: str, version: int, state: str) -> str:
    return engine_for(spec_for(workflow, version)).state_zh(state)


def sees_all(user: User) -> bool:
    """Reviewers, committee, admins and the system see the whole district."""
    return user.role not in TOWNSHIP_ROLES


def can_see(user: User, case: Case) -> bool:
    return sees_all(user) or (user.township_id is not None and case.township_id == user.township_id)


def case_not_found(case_id: object) -> NotFound:
    return NotFound(f"案件 {case_id} 不存在或不在您的辖区", f"case {case_id} not found (or not in your township)")


def get_case(session: Session, *, user: User, case_id: int) -> Case:
    """The case, if this user may see it; another township's case is simply not found."""
    from cases.validation import in_id_range

    if not in_id_range(case_id):
        raise case_not_found(case_id)
    case = session.exec(select(Case).where(Case.id == case_id)).first()
    if case is None or not can_see(user, case):
        raise case_not_found(case_id)
    return case


def scoped(q: Any, user: User) -> Any:
    if not sees_all(user):
        q = q.where(Case.township_id == (user.township_id or -1))
    return q


_TOWNSHIP = Township.__table__  # type: ignore[attr-defined]
_TOWNSHIP_BY_CODE = Prepared(sa.select(_TOWNSHIP).where(_TOWNSHIP.c.code == sa.bindparam("code")))


def township_by_code(session: Session, code: str) -> Township:
    rows = _TOWNSHIP_BY_CODE.mappings(session.connection(), {"code": code})
    t = Township.model_construct(**rows[0]) if rows else None
    if t is None:
        raise NotFound(f"镇街编码 {code} 不存在", f"no township with code {code}")
    return t


@dataclass(frozen=True)
class CaseRow:
    id: int
    point: str
    township: str
    state: str
    state_zh: str
    round: int
    deadline: date | None
    level: int
    version: int
    workflow: str = "rectification"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "point": self.point, "township": self.township, "state": self.state,
                "state_zh": self.state_zh, "round": self.round,
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "escalation_level": self.level, "version": self.version, "workflow": self.workflow}


def list_cases(
    session: Session,
    *,
    user: User,
    state: str | None = None,
    township: str | None = None,
    overdue: bool = False,
    search: str | None = None,
    workflow: str | None = None,
    today: date | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[CaseRow]:
    """Cases this user may see, newest first, filtered."""
    q = (
        select(Case.id, Point.name, Township.name, Case.state, Case.round, Case.deadline,
               Case.escalation_level, Case.version, Case.workflow, Case.workflow_version)
        .join(Point, col(Point.id) == Case.point_id)
        .join(Township, col(Township.id) == Case.township_id)
    )
    q = scoped(q, user)
    if state:
        states = all_states()
        if state not in states:
            from cases.errors import InvalidInput

            raise InvalidInput(f"没有名为 {state} 的状态", f"no state named {state}", allowed=states)
        q = q.where(Case.state == state)
    if township:
        q = q.where(Township.code == township)
    if workflow:
        q = q.where(Case.workflow == current_workflow(workflow).name)  # an unknown name is a clear error
    if overdue:
        q = q.where(sa.or_(Case.state == "overdue", sa.and_(
            col(Case.deadline).is_not(None), col(Case.deadline) < (today or date.today()),
            col(Case.state).notin_(["filed", "converted", "closed", "banned"]))))
    if search:
        q = q.where(col(Point.name).contains(search) | col(Point.operator).contains(search)
                    | col(Point.address).contains(search))
    q = q.order_by(col(Case.id).desc()).offset(offset)
    if limit:
        q = q.limit(limit)
    return [CaseRow(r[0], r[1], r[2], r[3], state_zh(r[8], r[9], r[3]), r[4], r[5], r[6], r[7], r[8])
            for r in session.exec(q).all()]  # type: ignore[call-overload]


def timeline(session: Session, case_id: int) -> list[CaseEvent]:
    return list(session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id)
                             .order_by(col(CaseEvent.seq))).all())


def case_detail(session: Session, *, user: User, case_id: int, district: District,
                today: date | None = None) -> dict[str, Any]:
    """Everything `case show` and the case page display, as plain data."""
    case = get_case(session, user=user, case_id=case_id)
    eng = case_engine(case)
    point = session.get(Point, case.point_id)
    town = session.get(Township, case.township_id)
    assert point is not None and town is not None
    today = today or date.today()
    tz = ZoneInfo(district.district.timezone)
    cal = district.work_calendar()
    days_left = cal.between(today, case.deadline) if case.deadline else None
    events = timeline(session, case_id)
    notices = session.exec(select(Notice).where(Notice.case_id == case_id).order_by(col(Notice.id))).all()
    from cases.serving import services_of_case

    served = services_of_case(session, case_id)
    last_insp = session.exec(select(Inspection).where(Inspection.case_id == case_id)
                             .order_by(col(Inspection.id).desc())).first()
    users = {u.id: u for u in session.exec(select(User).where(
        col(User.id).in_({e.actor_id for e in events if e.actor_id} | {case.proposer_id or 0}))).all()}
    proposer = users.get(case.proposer_id) if case.proposer_id else None
    return {
        "id": case.id,
        "version": case.version,
        "workflow": case.workflow,
        "workflow_zh": eng.spec.zh,
        "workflow_version": case.workflow_version,
        "state": case.state,
        "state_zh": eng.state_zh(case.state),
        "terminal": eng.spec.state(case.state).terminal,
        "round": case.round,
        "round_max": district.rounds.max,
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "deadline_kind": case.deadline_kind,
        "days_left": days_left,
        "escalation_level": case.escalation_level,
        "proposer": proposer.name if proposer else None,
        "proposal_reason": case.proposal_reason,
        "target": case.target,
        "point": {
            "id": point.id, "name": point.name, "address": point.address, "operator": point.operator,
            "phone": point.phone, "registered_on": point.registered_on.isoformat(), "source": point.source,
            "township": town.name, "township_code": town.code, **registration_facts(point, district),
        },
        "links": [link.as_dict() for link in links_of(session, case.id or 0)],
        "allowed": eng.allowed(_with_facts(session, district, case, user, today), user.role, user.id,  # type: ignore[arg-type]
                               district.policy(), today),
        "last_inspection": ({"at": last_insp.at.isoformat(), "trigger": last_insp.trigger,
                             "results": last_insp.results, "notes": last_insp.notes,
                             "evidence": last_insp.evidence or {}}
                            if last_insp else None),
        "timeline": [
            {"seq": e.seq, "at": e.at.astimezone(tz).isoformat(), "actor": e.actor, "role": e.role,
             "trigger": e.trigger,
             "trigger_zh": EXTRA_TRIGGERS_ZH.get(e.trigger) or eng.spec.trigger_zh(e.trigger),
             "level_zh": e.data.get("level_zh"),
             "from": e.from_state, "to": e.to_state, "to_zh": eng.state_zh(e.to_state),
             "reason": e.reason, "evidence": e.evidence, "notice": e.notice_number, "hash": e.hash}
            for e in events
        ],
        "notices": [{"number": n.number, "kind": n.kind, "title": n.data.get("title", n.kind),
                     "issued_on": n.issued_on.isoformat(), "addressee": n.addressee,
                     **_service_view(district, n, served.get(n.id or 0))} for n in notices],
        "deadline_provisional": _deadline_provisional(district, case, notices, served),
        "intent": _intent(session, district, case),
    }


class _WithFacts:
    """The case row seen with the facts its guards read (set by the service in a transaction)."""

    def __init__(self, case: Case, facts: dict[str, Any]) -> None:
        self._case = case
        self.__dict__.update(facts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


def _with_facts(session: Session, district: District, case: Case, user: User, today: date) -> Any:
    from cases.facts import workflow_facts
    from workflow.spec import Request

    facts = workflow_facts(session, district, case, Request(trigger="", role=user.role, actor_id=user.id,
                                                             today=today))
    return _WithFacts(case, facts) if facts else case


def _service_view(district: District, notice: Notice, record: Any) -> dict[str, Any]:
    """Whether a notice must be served and how it was (送达)."""
    from cases.serving import METHODS

    needs = notice.kind in district.service.kinds
    if record is None:
        return {"needs_service": needs, "served": None}
    return {"needs_service": needs, "served": {
        "on": record.served_on.isoformat(), "method": record.method, "method_zh": METHODS.get(record.method),
        "recipient": record.recipient, "receipt": record.receipt_number}}


def _intent(session: Session, district: District, case: Case) -> dict[str, Any] | None:
    """The notice of intent of a case under enforcement: served when, the window, the hearing."""
    if case.state != "enforcement":
        return None
    from cases.serving import intent_facts

    return intent_facts(session, district, case.id or 0) or None


def _deadline_provisional(district: District, case: Case, notices: Any, served: dict[int, Any]) -> bool:
    """The running deadline is counted from the issue of a notice not yet served (自送达之日起: provisional)."""
    if case.deadline is None:
        return False
    return any(n.kind in district.service.kinds and n.data.get("deadline") == case.deadline.isoformat()
               and n.data.get("deadline_days")
               and n.issued_on == case.deadline_set_on and (n.id or 0) not in served for n in notices)
