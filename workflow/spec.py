"""The vocabulary a workflow is declared in: roles, states, guards, deadline rules, transitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from functools import cached_property
from typing import Protocol

from workflow.notices import NoticeKind
from workflow.policy import Policy


class Role(StrEnum):
    INSPECTOR = "inspector"
    LEAD = "lead"
    REVIEWER = "reviewer"
    COMMITTEE = "committee"
    ADMIN = "admin"
    SYSTEM = "system"

    @property
    def zh(self) -> str:
        return ROLE_NAMES[self]


ROLE_NAMES: dict[Role, str] = {
    Role.INSPECTOR: "镇街检查员",
    Role.LEAD: "镇街负责人",
    Role.REVIEWER: "区教育局审核员",
    Role.COMMITTEE: "区专项工作委员会",
    Role.ADMIN: "系统管理员",
    Role.SYSTEM: "系统",
}


class Subject(Protocol):
    """What the engine reads and keeps on a case: state, round, proposer, deadline bookkeeping.

    `return_stack` is a comma-separated list of the states that proposals came from, so that
    `send_back` returns to the state before the proposal (and nested proposals unwind).
    """

    state: str
    round: int
    proposer_id: int | None
    return_stack: str
    registered_on: date | None
    deadline: date | None
    deadline_kind: str | None
    saved_deadline: date | None
    saved_deadline_kind: str | None


def previous_state(subject: Subject) -> str | None:
    """The state the current proposal came from, if any."""
    stack = subject.return_stack
    return stack.rsplit(",", 1)[-1] if stack else None


@dataclass(frozen=True)
class Request:
    """One actor's request to fire a trigger, with the input the guards check."""

    trigger: str
    role: str
    actor_id: int | None = None
    reason: str = ""
    failed: frozenset[str] = frozenset()
    major: frozenset[str] = frozenset()
    target: str = ""
    today: date | None = None


GuardCheck = Callable[[Subject, Request, Policy], bool]


@dataclass(frozen=True)
class Guard:
    """A named precondition with the message shown when it refuses.

    `needs_input` guards depend on what the user types (a reason, failed items); they are
    skipped when listing the triggers allowed now, and checked when the trigger is fired.
    `zh` is plain Chinese for every face; `cli` is what the command line adds beside it in
    brackets (its flags, e.g. "--fail 或 --major", or trigger ids), never shown in the web.
    """

    code: str
    zh: str
    en: str
    check: GuardCheck
    needs_input: bool = False
    label: str = ""  # the input it reads, as a form names it (e.g. 办园性质)
    choices: tuple[str, ...] = ()  # the values that input may take, when they are a fixed list
    cli: str = ""


class DeadlineRule(StrEnum):
    """What a transition does to the case's running deadline."""

    KEEP = "keep"  # leave the deadline as it is
    CLEAR = "clear"  # no deadline runs in the new state
    RESTORE = "restore"  # the deadline that ran before the proposal (send_back)
    REVIEW = "review"
    REINSPECTION = "reinspection"
    RECTIFICATION = "rectification"  # from the severity of the failed items
    CESSATION = "cessation"
    ENFORCEMENT = "enforcement"
    APPROVAL = "approval"
    APPLICATION = "application"


class RoundRule(StrEnum):
    KEEP = "keep"
    FIRST = "first"  # rectification starts: round 1
    NEXT = "next"  # a failed re-inspection: the next round
    RESET = "reset"  # reopened: rounds start again


@dataclass(frozen=True)
class StateSpec:
    name: str
    zh: str
    en: str
    terminal: bool = False
    proposal: bool = False  # awaits a bureau decision (approve / send_back)


PREVIOUS = "<previous>"  # `dest` of a transition that returns to the state before the proposal
SAME = "<same>"  # `dest` of a transition that records an act without changing the state (e.g. 督办反馈)


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[str, ...]
    dest: str  # a state name, PREVIOUS or SAME
    roles: frozenset[Role]
    zh: str
    en: str
    guards: tuple[Guard, ...] = ()
    deadline: DeadlineRule = DeadlineRule.KEEP
    notice: NoticeKind | None = None
    rounds: RoundRule = RoundRule.KEEP
    inspection: bool = False  # carries checklist results (--fail / --major)
    proposes: bool = False  # the actor becomes the proposer awaiting a decision
    hidden: bool = False  # fired by a command of its own (e.g. `complaint add`), not offered among a case's actions


@dataclass(frozen=True)
class WorkflowSpec:
    """A whole workflow, declared as data."""

    name: str
    zh: str
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    extra: dict[str, str] = field(default_factory=dict)
    openers: frozenset[Role] = frozenset()  # who may open a case of this workflow
    version: int = 1  # bump (and keep the old declaration in workflow/registry.py) when a change is not compatible

    def state(self, name: str) -> StateSpec:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(name)

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger, None)
        return tuple(seen)

    def trigger_zh(self, trigger: str) -> str:
        return next((t.zh for t in self.transitions if t.trigger == trigger), trigger)
