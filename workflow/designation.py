"""The 小区配套园办园性质认定 workflow (镇街申请 → 区教育局审核 → 专项工作委员会批准), as data.

A second, different declaration run by the same engine: it proves the engine is general.
Its extra rule comes from the 武清 plan: where a township's public kindergartens hold less
than half of its children, a newly handed-over estate kindergarten may not become a
普惠性民办园.
"""

from __future__ import annotations

from workflow.notices import NoticeKind as N
from workflow.policy import Policy
from workflow.spec import (
    PREVIOUS,
    Guard,
    Request,
    Role,
    StateSpec,
    Subject,
    TransitionSpec,
    WorkflowSpec,
)
from workflow.spec import (
    DeadlineRule as D,
)

PUBLIC = "公办园"
INCLUSIVE_PRIVATE = "普惠性民办园"
NATURES = (PUBLIC, INCLUSIVE_PRIVATE)


def _nature_known(s: Subject, r: Request, p: Policy) -> bool:
    return r.target in NATURES


def _public_share_rule(s: Subject, r: Request, p: Policy) -> bool:
    """Checked when the township applies and again at each decision: the figures may change meanwhile."""
    share = getattr(s, "public_share", None)
    nature = r.target or getattr(s, "target", "")
    return not (nature == INCLUSIVE_PRIVATE and share is not None and share < 0.5)


def _has_reason(s: Subject, r: Request, p: Policy) -> bool:
    return bool(r.reason.strip())


def _four_eyes(s: Subject, r: Request, p: Policy) -> bool:
    return s.proposer_id is None or r.actor_id != s.proposer_id


NATURE = Guard("target", f"办园性质须为：{'、'.join(NATURES)}", "nature must be 公办园 or 普惠性民办园",
               _nature_known, needs_input=True, label="办园性质", choices=NATURES)
PUBLIC_SHARE = Guard(
    "public_share",
    "镇街公办园在园幼儿占比不足50%，新移交的小区配套幼儿园不得办成普惠性民办园",
    "the township's public share is below 50%: the estate kindergarten may not become inclusive private",
    _public_share_rule,
    needs_input=True,
)
REASON = Guard("reason", "须填写理由", "a reason is required", _has_reason, needs_input=True)
FOUR_EYES = Guard("four_eyes", "申请人不能审核自己的申请", "the applicant cannot review their own application",
                  _four_eyes)

DESIGNATION = WorkflowSpec(
    name="designation",
    zh="小区配套园办园性质认定",
    initial="drafted",
    openers=frozenset({Role.LEAD, Role.ADMIN}),
    states=(
        StateSpec("drafted", "镇街拟定中", "drafted"),
        StateSpec("applied", "镇街已申请", "applied", proposal=True),
        StateSpec("bureau_reviewed", "区教育局已审核", "reviewed by the bureau", proposal=True),
        StateSpec("designated", "专项工作委员会已批准", "designated", terminal=True),
        StateSpec("withdrawn", "已撤回", "withdrawn", terminal=True),
    ),
    transitions=(
        TransitionSpec("apply", ("drafted",), "applied", frozenset({Role.LEAD}), "镇街申请", "apply",
                       guards=(NATURE, PUBLIC_SHARE), deadline=D.APPROVAL, proposes=True),
        TransitionSpec("review", ("applied",), "bureau_reviewed", frozenset({Role.REVIEWER}),
                       "区教育局审核通过", "bureau review", guards=(FOUR_EYES, PUBLIC_SHARE), deadline=D.APPROVAL),
        TransitionSpec("approve", ("bureau_reviewed",), "designated", frozenset({Role.COMMITTEE}),
                       "专项工作委员会批准", "committee approval", guards=(PUBLIC_SHARE,), deadline=D.CLEAR,
                       notice=N.DESIGNATION_APPROVAL),
        TransitionSpec("send_back", ("applied", "bureau_reviewed"), PREVIOUS,
                       frozenset({Role.REVIEWER, Role.COMMITTEE}), "退回", "send back",
                       guards=(REASON,), deadline=D.RESTORE),
        TransitionSpec("withdraw", ("drafted", "applied"), "withdrawn", frozenset({Role.LEAD}), "撤回",
                       "withdraw", guards=(REASON,), deadline=D.CLEAR),
    ),
)
