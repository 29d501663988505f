"""The rectification workflow (民办托幼点整治) of DESIGN §2, declared as data."""

from __future__ import annotations

from workflow.notices import NoticeKind as N
from workflow.policy import Policy
from workflow.spec import (
    PREVIOUS,
    SAME,
    Guard,
    Request,
    Role,
    RoundRule,
    StateSpec,
    Subject,
    TransitionSpec,
    WorkflowSpec,
)
from workflow.spec import (
    DeadlineRule as D,
)

INSPECTOR = frozenset({Role.INSPECTOR})
REVIEWER = frozenset({Role.REVIEWER})
SYSTEM = frozenset({Role.SYSTEM})

# -- guards --------------------------------------------------------------------------------


def _has_reason(s: Subject, r: Request, p: Policy) -> bool:
    return bool(r.reason.strip())


def _some_failed(s: Subject, r: Request, p: Policy) -> bool:
    return bool(r.failed or r.major)


def _all_passed(s: Subject, r: Request, p: Policy) -> bool:
    return not (r.failed or r.major)


def _has_major(s: Subject, r: Request, p: Policy) -> bool:
    return bool(r.major)


def _known_items(s: Subject, r: Request, p: Policy) -> bool:
    return (r.failed | r.major) <= set(p.checklist)


def _major_capable(s: Subject, r: Request, p: Policy) -> bool:
    return r.major <= p.major_capable


def _rounds_left(s: Subject, r: Request, p: Policy) -> bool:
    return s.round < p.max_rounds


def _under_supervision(s: Subject, r: Request, p: Policy) -> bool:
    return int(getattr(s, "escalation_level", 0) or 0) >= 1


def _before_cutoff(s: Subject, r: Request, p: Policy) -> bool:
    return p.cutoff is None or s.registered_on is None or s.registered_on <= p.cutoff


def _four_eyes(s: Subject, r: Request, p: Policy) -> bool:
    return s.proposer_id is None or r.actor_id != s.proposer_id


def _deadline_passed(s: Subject, r: Request, p: Policy) -> bool:
    return s.deadline is not None and r.today is not None and r.today > s.deadline


def _has_target(s: Subject, r: Request, p: Policy) -> bool:
    return bool(r.target.strip())


# -- the notice of intent before a ban (《行政处罚法》第四十四条、第六十三条、第六十四条) -------------------
# The service hands these facts in on the subject (ISO dates or None), computed from the case's
# notices, their service records and its audit chain; a subject without them has no intent yet.


def _fact(s: Subject, name: str) -> str | None:
    value = getattr(s, name, None)
    return str(value) if value else None


def _today(r: Request) -> str | None:
    return r.today.isoformat() if r.today else None


def _no_intent_yet(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "intent_number") is None


def _intent_issued(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "intent_number") is not None


def _hearing_not_requested(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "hearing_requested_on") is None


def _within_window(s: Subject, r: Request, p: Policy) -> bool:
    end, today = _fact(s, "intent_window_end"), _today(r)
    return end is None or today is None or today <= end  # unserved: the window has not even started


def _hearing_requested(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "hearing_requested_on") is not None


def _hearing_not_held(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "hearing_held_on") is None


def _hearing_settled(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "hearing_requested_on") is None or _fact(s, "hearing_held_on") is not None


def _intent_served(s: Subject, r: Request, p: Policy) -> bool:
    return _fact(s, "hearing_held_on") is not None or _fact(s, "intent_served_on") is not None


def _window_passed(s: Subject, r: Request, p: Policy) -> bool:
    if _fact(s, "hearing_held_on") is not None:
        return True
    end, today = _fact(s, "intent_window_end"), _today(r)
    return end is not None and today is not None and today > end


NO_INTENT_YET = Guard(
    "no_intent_yet",
    "已发出行政处罚事先告知书，不能重复告知",
    "the notice of intent has already been issued",
    _no_intent_yet,
)
INTENT_ISSUED = Guard(
    "intent_issued",
    "尚未发出行政处罚事先告知书（须先执行 notify_intent，告知拟作出的决定及陈述、申辩和听证权利）",
    "no notice of intent yet: fire notify_intent first (the party's rights to state, defend and ask for a hearing)",
    _intent_issued,
)
HEARING_NOT_REQUESTED = Guard(
    "hearing_not_requested", "当事人已申请听证", "the party has already asked for a hearing", _hearing_not_requested
)
WITHIN_WINDOW = Guard(
    "within_window",
    "已超过自事先告知书送达之日起的听证申请期限",
    "the time to ask for a hearing (counted from the service of the notice of intent) has passed",
    _within_window,
)
HEARING_REQUESTED = Guard(
    "hearing_requested",
    "当事人未申请听证，无需记录听证",
    "the party has not asked for a hearing",
    _hearing_requested,
)
HEARING_NOT_HELD = Guard("hearing_not_held", "听证已记录", "the hearing is already recorded", _hearing_not_held)
HEARING_SETTLED = Guard(
    "hearing_settled",
    "当事人已申请听证，须先组织听证并记录（record_hearing），才能确认取缔",
    "the party asked for a hearing: hold it and record it (record_hearing) before confirming the ban",
    _hearing_settled,
)
INTENT_SERVED = Guard(
    "intent_served",
    "行政处罚事先告知书尚未送达（须先登记送达：tuoyou notice deliver），不能确认取缔",
    "the notice of intent has not been served yet (record it with `tuoyou notice deliver`)",
    _intent_served,
)
WINDOW_PASSED = Guard(
    "window_passed",
    "自事先告知书送达之日起的陈述、申辩和听证期限尚未届满，不能确认取缔",
    "the party's time to state, defend and ask for a hearing after service of the notice of intent has not passed",
    _window_passed,
)

REASON = Guard("reason", "须填写理由", "a reason is required", _has_reason, needs_input=True)
KNOWN_ITEMS = Guard(
    "known_items", "检查项目编码不存在", "unknown checklist item code", _known_items, needs_input=True
)
SOME_FAILED = Guard(
    "some_failed",
    "须至少有一项检查不合格",
    "at least one checklist item must fail (--fail or --major)",
    _some_failed,
    needs_input=True,
    cli="--fail 或 --major",
)
ALL_PASSED = Guard(
    "all_passed",
    "拟予备案须全部检查项目合格",
    "every checklist item must pass before filing is proposed",
    _all_passed,
    needs_input=True,
)
HAS_MAJOR = Guard(
    "has_major",
    "只有存在重大安全隐患时才能责令停止办园",
    "suspension needs at least one major-hazard item (--major)",
    _has_major,
    needs_input=True,
    cli="--major",
)
MAJOR_CAPABLE = Guard(
    "major_capable",
    "该检查项目不能认定为重大安全隐患",
    "that checklist item cannot be a major hazard",
    _major_capable,
    needs_input=True,
)
ROUNDS_LEFT = Guard(
    "rounds_left",
    "整改轮次已达上限，只能提出「拟依法处置」",
    "the last rectification round is used up; only propose_enforcement remains",
    _rounds_left,
    cli="propose_enforcement",
)
UNDER_SUPERVISION = Guard(
    "under_supervision",
    "案件未被督办，无需督办反馈",
    "the case is not under supervision (escalation level 0); report_progress answers a 督办通知书",
    _under_supervision,
)
BEFORE_CUTOFF = Guard(
    "cutoff",
    "该托幼点在截止日期之后登记，各镇街不再备案新的民办托幼点",
    "the point was first registered after the campaign's cut-off date and can never be filed",
    _before_cutoff,
)
FOUR_EYES = Guard(
    "four_eyes",
    "提出人不能审批自己的提议（双人审核）",
    "the proposer cannot decide on their own proposal (four eyes)",
    _four_eyes,
)
DEADLINE_PASSED = Guard(
    "deadline_passed", "整改期限尚未届满", "the rectification deadline has not passed yet", _deadline_passed
)
TARGET = Guard(
    "target",
    "须填写转型目标机构",
    "the target institution is required (--target)",
    _has_target,
    needs_input=True,
    label="转型目标机构",
    cli="--target",
)

# -- states --------------------------------------------------------------------------------

STATES = (
    StateSpec("registered", "已登记", "registered"),
    StateSpec("under_review", "审查核查中", "under review"),
    StateSpec("rectifying", "整改中", "rectifying"),
    StateSpec("reinspecting", "复查中", "re-inspecting"),
    StateSpec("overdue", "逾期未整改", "overdue"),
    StateSpec("filing_proposed", "拟予备案", "filing proposed", proposal=True),
    StateSpec("refusal_proposed", "拟不予备案", "refusal proposed", proposal=True),
    StateSpec("conversion_proposed", "拟转型", "conversion proposed", proposal=True),
    StateSpec("enforcement_proposed", "拟依法处置", "enforcement proposed", proposal=True),
    StateSpec("closure_proposed", "拟销案(停办)", "closure proposed", proposal=True),
    StateSpec("refused", "不予备案", "refused"),
    StateSpec("enforcement", "依法处置中", "under enforcement"),
    StateSpec("filed", "已备案", "filed", terminal=True),
    StateSpec("converted", "已转型", "converted", terminal=True),
    StateSpec("closed", "已停办", "closed", terminal=True),
    StateSpec("banned", "已取缔", "banned", terminal=True),
)

OPEN_STATES = tuple(s.name for s in STATES if not s.terminal)
ALL_STATES = tuple(s.name for s in STATES)
STAFF = frozenset({Role.INSPECTOR, Role.LEAD, Role.REVIEWER})

PROPOSALS = ("filing_proposed", "refusal_proposed", "conversion_proposed", "enforcement_proposed",
             "closure_proposed")


def _propose(trigger: str, sources: tuple[str, ...], dest: str, zh: str, en: str,
             guards: tuple[Guard, ...] = (), inspection: bool = False) -> TransitionSpec:
    return TransitionSpec(trigger, sources, dest, INSPECTOR, zh, en, guards=guards,
                          deadline=D.APPROVAL, proposes=True, inspection=inspection)


def _approve(source: str, dest: str, deadline: D, notice: N | None) -> TransitionSpec:
    return TransitionSpec("approve", (source,), dest, REVIEWER, "批准", "approve",
                          guards=(FOUR_EYES,), deadline=deadline, notice=notice)


TRANSITIONS = (
    TransitionSpec("start_review", ("registered",), "under_review", INSPECTOR, "开始审查核查",
                   "start review", deadline=D.REVIEW),
    TransitionSpec("order_rectification", ("under_review",), "rectifying", INSPECTOR, "责令整改",
                   "order rectification", guards=(KNOWN_ITEMS, SOME_FAILED, MAJOR_CAPABLE),
                   deadline=D.RECTIFICATION, notice=N.RECTIFICATION_ORDER, rounds=RoundRule.FIRST,
                   inspection=True),
    TransitionSpec("request_reinspection", ("rectifying", "overdue"), "reinspecting", INSPECTOR,
                   "申请复查", "request re-inspection", deadline=D.REINSPECTION),
    TransitionSpec("expire", ("rectifying",), "overdue", SYSTEM, "逾期", "expire",
                   guards=(DEADLINE_PASSED,), deadline=D.KEEP),
    TransitionSpec("fail_reinspection", ("reinspecting",), "rectifying", INSPECTOR, "复查不合格",
                   "fail re-inspection", guards=(ROUNDS_LEFT, KNOWN_ITEMS, SOME_FAILED, MAJOR_CAPABLE),
                   deadline=D.RECTIFICATION, notice=N.REINSPECTION_OPINION, rounds=RoundRule.NEXT,
                   inspection=True),
    TransitionSpec("suspend", ("under_review", "rectifying", "reinspecting", "overdue"), "enforcement",
                   INSPECTOR, "责令停止办园", "suspend (major hazard)",
                   guards=(KNOWN_ITEMS, HAS_MAJOR, MAJOR_CAPABLE), deadline=D.ENFORCEMENT,
                   notice=N.SUSPENSION_ORDER, inspection=True),
    _propose("propose_filing", ("under_review", "reinspecting"), "filing_proposed", "拟予备案",
             "propose filing", guards=(BEFORE_CUTOFF, KNOWN_ITEMS, ALL_PASSED), inspection=True),
    _propose("propose_refusal", ("under_review", "reinspecting"), "refusal_proposed", "拟不予备案",
             "propose refusal", guards=(REASON, KNOWN_ITEMS, MAJOR_CAPABLE), inspection=True),
    _propose("propose_conversion", ("under_review", "rectifying", "reinspecting"), "conversion_proposed",
             "拟转型升级", "propose conversion", guards=(REASON, TARGET)),
    _propose("propose_enforcement", ("reinspecting", "overdue", "refused"), "enforcement_proposed",
             "拟依法处置", "propose enforcement", guards=(REASON,)),
    _propose("propose_closure", ("registered", "under_review", "rectifying", "reinspecting", "overdue"),
             "closure_proposed", "拟销案(自行停办)", "propose closure"),
    _approve("filing_proposed", "filed", D.CLEAR, N.FILING_RECEIPT),
    _approve("refusal_proposed", "refused", D.CESSATION, N.REFUSAL_NOTICE),
    _approve("conversion_proposed", "converted", D.CLEAR, None),
    _approve("enforcement_proposed", "enforcement", D.ENFORCEMENT, N.SUSPENSION_ORDER),
    _approve("closure_proposed", "closed", D.CLEAR, None),
    TransitionSpec("send_back", PROPOSALS, PREVIOUS, REVIEWER, "退回", "send back",
                   guards=(REASON, FOUR_EYES), deadline=D.RESTORE),
    TransitionSpec("confirm_ceased", ("refused",), "closed", INSPECTOR, "确认已停办", "confirm ceased",
                   deadline=D.CLEAR),
    TransitionSpec("notify_intent", ("enforcement",), SAME, REVIEWER, "行政处罚事先告知", "notify intent to ban",
                   guards=(REASON, NO_INTENT_YET), notice=N.PENALTY_INTENT),
    TransitionSpec("record_statement", ("enforcement",), SAME, frozenset({Role.INSPECTOR, Role.REVIEWER}),
                   "记录陈述申辩", "record the party's statement", guards=(REASON, INTENT_ISSUED)),
    TransitionSpec("request_hearing", ("enforcement",), SAME, frozenset({Role.INSPECTOR, Role.REVIEWER}),
                   "当事人申请听证", "hearing requested",
                   guards=(INTENT_ISSUED, HEARING_NOT_REQUESTED, WITHIN_WINDOW)),
    TransitionSpec("record_hearing", ("enforcement",), SAME, REVIEWER, "记录听证", "record the hearing held",
                   guards=(REASON, HEARING_REQUESTED, HEARING_NOT_HELD)),
    TransitionSpec("confirm_ban", ("enforcement",), "banned", REVIEWER, "确认取缔", "confirm ban",
                   guards=(INTENT_ISSUED, HEARING_SETTLED, INTENT_SERVED, WINDOW_PASSED),
                   deadline=D.CLEAR, notice=N.BAN_DECISION),
    TransitionSpec("reopen", ("filed",), "under_review", frozenset({Role.INSPECTOR, Role.REVIEWER}),
                   "重新核查", "reopen", guards=(REASON,), deadline=D.REVIEW, rounds=RoundRule.RESET),
    # 12345 接诉即办: a hotline 工单 about a case still open is recorded on it; the reply to the hotline too
    # 督办反馈: the township answers an open 督办通知书 with what was done (text and evidence); no state change
    TransitionSpec("report_progress", tuple(s for s in OPEN_STATES if s not in PROPOSALS), SAME,
                   frozenset({Role.INSPECTOR, Role.LEAD}), "督办反馈", "report progress (answer a 督办通知书)",
                   guards=(UNDER_SUPERVISION, REASON)),
    TransitionSpec("receive_complaint", OPEN_STATES, SAME, STAFF, "受理12345工单", "receive a 12345 complaint",
                   guards=(REASON,), hidden=True),
    TransitionSpec("reply_complaint", ALL_STATES, SAME, STAFF, "答复12345工单", "reply to a 12345 complaint",
                   guards=(REASON,), hidden=True),
)

RECTIFICATION = WorkflowSpec(
    name="rectification",
    zh="民办托幼点整治",
    initial="registered",
    states=STATES,
    transitions=TRANSITIONS,
    openers=frozenset({Role.INSPECTOR, Role.REVIEWER, Role.ADMIN}),
)
