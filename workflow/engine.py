"""The small engine that executes a declared workflow on one shared `transitions.Machine`.

Cases are not machines: each case's record is carried by a plain `Carrier` whose `state`
property reads and writes the record's own attribute, and carriers are models of the one
Machine. Carriers are pooled, so `add_model` is paid once per carrier, not once per call.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from transitions import Machine, MachineError
from transitions.core import EventData

from workflow.errors import InvalidInput, NotAllowed
from workflow.notices import NoticeKind
from workflow.policy import Policy
from workflow.spec import (
    PREVIOUS,
    SAME,
    DeadlineRule,
    Guard,
    Request,
    Role,
    RoundRule,
    Subject,
    TransitionSpec,
    WorkflowSpec,
    previous_state,
)
from workflow.workdays import WorkCalendar

_LOGGER = logging.getLogger(__name__)


class Carrier:
    """A plain object the Machine drives; its state lives on the record it carries."""

    def __init__(self) -> None:
        self.record: Any = None
        self._loose_state: str | None = None

    @property
    def state(self) -> str:
        return self.record.state if self.record is not None else self._loose_state  # type: ignore[return-value]

    @state.setter
    def state(self, value: str) -> None:
        if self.record is not None:
            self.record.state = value
        else:
            self._loose_state = value


class GuardRefused(NotAllowed):
    """A guard refused the transition."""

    def __init__(self, guard: Guard, allowed: list[str] | None = None) -> None:
        super().__init__(guard.zh, guard.en, allowed=allowed, cli=guard.cli)
        self.guard = guard


@dataclass(frozen=True)
class Step:
    """What a fired trigger did: from where to where, by which declared transition."""

    trigger: str
    source: str
    dest: str
    spec: TransitionSpec
    paused_days: int = 0  # a send-back: the (working) days the proposal waited, added to the restored deadline
    restored_from: date | None = None  # a send-back: the deadline as it stood when the proposal was made

    @property
    def notice(self) -> NoticeKind | None:
        return self.spec.notice


class Engine:
    """Executes one `WorkflowSpec`. Create one per workflow and share it."""

    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._pool: list[Carrier] = []
        self._by_source: dict[tuple[str, str], TransitionSpec] = {}
        self._previous: dict[str, tuple[str, ...]] = self._previous_states()
        for t in spec.transitions:
            for src in t.sources:
                key = (t.trigger, src)
                if key in self._by_source:
                    raise ValueError(f"{spec.name}: two transitions for {key}")
                self._by_source[key] = t
            if t.dest == SAME and (t.deadline is not DeadlineRule.KEEP or t.rounds is not RoundRule.KEEP
                                   or t.proposes):
                raise ValueError(f"{spec.name}: {t.trigger} keeps the state, so it cannot set a deadline, "
                                 "a round or a proposal")
        self.machine = Machine(
            model=None,
            states=[s.name for s in spec.states],
            transitions=self._machine_transitions(),
            initial=spec.initial,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        _LOGGER.debug("engine for %s: %d states, %d transitions", spec.name, len(spec.states),
                      len(spec.transitions))

    # -- building --------------------------------------------------------------------------

    def _previous_states(self) -> dict[str, tuple[str, ...]]:
        """For each proposal state, the states a proposal into it can come from."""
        out: dict[str, list[str]] = {}
        for t in self.spec.transitions:
            if t.dest not in (PREVIOUS, SAME):
                for src in t.sources:
                    out.setdefault(t.dest, [])
                    if src not in out[t.dest]:
                        out[t.dest].append(src)
        return {k: tuple(v) for k, v in out.items()}

    def _machine_transitions(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = []
        for t in self.spec.transitions:
            conditions = [self._guard_condition(g) for g in t.guards]
            for src in t.sources:
                if t.dest == PREVIOUS:
                    for prev in self._previous.get(src, ()):
                        result.append({
                            "trigger": t.trigger, "source": src, "dest": prev,
                            "conditions": [*conditions, self._came_from(prev)],
                        })
                else:
                    dest = src if t.dest == SAME else t.dest
                    result.append({"trigger": t.trigger, "source": src, "dest": dest,
                                   "conditions": conditions})
        return result

    def _guard_condition(self, guard: Guard) -> Any:
        def condition(event: EventData) -> bool:
            request: Request = event.kwargs["request"]
            subject: Subject = event.kwargs["subject"]
            policy: Policy = event.kwargs["policy"]
            if not guard.check(subject, request, policy):
                _LOGGER.debug("guard %s refused %s", guard.code, request.trigger)
                raise GuardRefused(guard)
            return True

        condition.__name__ = f"guard_{guard.code}"
        return condition

    @staticmethod
    def _came_from(prev: str) -> Any:
        def condition(event: EventData) -> bool:
            return previous_state(event.kwargs["subject"]) == prev

        condition.__name__ = f"came_from_{prev}"
        return condition

    # -- carriers --------------------------------------------------------------------------

    def _take_carrier(self, record: Any) -> Carrier:
        """A carrier from the pool (or a new one on the shared machine), holding `record` for one firing."""
        with self._lock:
            if self._pool:
                carrier = self._pool.pop()
            else:
                carrier = Carrier()
                carrier._loose_state = record.state
                self.machine.add_model(carrier, initial=record.state)
        carrier.record = record
        return carrier

    def _give_back(self, carrier: Carrier) -> None:
        carrier._loose_state = carrier.record.state
        carrier.record = None
        with self._lock:
            self._pool.append(carrier)

    # -- queries ---------------------------------------------------------------------------

    def transition(self, trigger: str, source: str) -> TransitionSpec | None:
        return self._by_source.get((trigger, source))

    def triggers_from(self, state: str) -> list[str]:
        return [t.trigger for t in self.spec.transitions if state in t.sources]

    def allowed(self, subject: Subject, role: str, actor_id: int | None, policy: Policy,
                today: date | None = None) -> list[str]:
        """The triggers this role may fire now (guards that need user input are not judged)."""
        out: list[str] = []
        for trigger in self.triggers_from(subject.state):
            t = self._by_source[(trigger, subject.state)]
            if role not in t.roles or t.hidden:
                continue
            request = Request(trigger=trigger, role=role, actor_id=actor_id, today=today)
            if all(g.needs_input or g.check(subject, request, policy) for g in t.guards):
                out.append(trigger)
        return out

    # -- firing ----------------------------------------------------------------------------

    def fire(self, subject: Subject, request: Request, policy: Policy, calendar: WorkCalendar) -> Step:
        """Fire `request.trigger` on `subject` and keep its books; raise `NotAllowed` if refused.

        Besides the state, the engine keeps the subject's proposer, return stack, round and
        running deadline as the declaration says, so every caller gets the same semantics.
        """
        if request.trigger not in self.spec.triggers:
            raise InvalidInput(
                f"没有名为「{request.trigger}」的操作",
                f"no trigger named {request.trigger}",
                allowed=self.allowed(subject, request.role, request.actor_id, policy, request.today),
            )
        source = subject.state
        t = self._by_source.get((request.trigger, source))
        if t is None or request.role not in t.roles:
            allowed = self.allowed(subject, request.role, request.actor_id, policy, request.today)
            if t is None:
                zh = f"当前状态「{self.state_zh(source)}」下不能执行「{self.spec.trigger_zh(request.trigger)}」"
                en = f"{request.trigger} is not allowed in state {source}"
            else:
                roles = "、".join(Role(r).zh for r in sorted(t.roles))
                zh = f"{Role(request.role).zh}不能执行「{t.zh}」（须由{roles}执行）"
                en = f"role {request.role} may not fire {request.trigger} (needs {', '.join(sorted(t.roles))})"
            raise NotAllowed(zh, en, allowed=allowed, cli=request.trigger)
        carrier = self._take_carrier(subject)  # (plain calls, not a context manager: this is the hot path)
        try:
            done = carrier.trigger(request.trigger, request=request, subject=subject, policy=policy)  # type: ignore[attr-defined]
        except GuardRefused as exc:
            exc.allowed = self.allowed(subject, request.role, request.actor_id, policy, request.today)
            raise
        except MachineError as exc:  # pragma: no cover - guarded above
            raise NotAllowed(str(exc), str(exc)) from exc
        finally:
            self._give_back(carrier)
        if not done:
            raise NotAllowed(
                f"无法确定退回到哪个状态（原状态：{previous_state(subject)}）",
                f"cannot tell which state to return to (previous: {previous_state(subject)})",
                allowed=[],
            )
        step = Step(request.trigger, source, subject.state, t)
        step = self._keep_books(subject, step, request, policy, calendar)
        _LOGGER.debug("%s: %s --%s--> %s", self.spec.name, source, request.trigger, subject.state)
        return step

    def _keep_books(self, subject: Subject, step: Step, request: Request, policy: Policy,
                    calendar: WorkCalendar) -> Step:
        """Keep the subject's proposer, return stack, round and deadline; the step, with what a send-back did.

        The clock stops while the bureau decides: entering a proposal notes the day (`proposed_on`,
        when the subject has that attribute), and a send-back restores the earlier deadline moved on
        by the working days the proposal waited.
        """
        t = step.spec
        if t.dest == SAME:  # an act recorded in place: proposer, return stack and deadline stay as they are
            return step
        entering_proposal = self.spec.state(step.dest).proposal
        # return stack and proposer
        if t.dest == PREVIOUS:
            subject.return_stack = subject.return_stack.rsplit(",", 1)[0] if "," in subject.return_stack else ""
        elif entering_proposal:
            subject.return_stack = f"{subject.return_stack},{step.source}" if subject.return_stack else step.source
        else:
            subject.return_stack = ""
        if t.proposes:
            subject.proposer_id = request.actor_id
        elif not entering_proposal:
            subject.proposer_id = None
        # rounds
        if t.rounds is RoundRule.FIRST:
            subject.round = 1
        elif t.rounds is RoundRule.NEXT:
            subject.round += 1
        elif t.rounds is RoundRule.RESET:
            subject.round = 0
        # deadline
        rule = t.deadline
        keeps_day = hasattr(subject, "proposed_on")
        if entering_proposal and t.dest != PREVIOUS and not self.spec.state(step.source).proposal:
            subject.saved_deadline, subject.saved_deadline_kind = subject.deadline, subject.deadline_kind
            if keeps_day:
                subject.proposed_on = request.today  # type: ignore[attr-defined]
        if not entering_proposal and keeps_day:
            proposed_on = subject.proposed_on  # type: ignore[attr-defined]
            subject.proposed_on = None  # type: ignore[attr-defined]
        else:
            proposed_on = None
        if rule is DeadlineRule.KEEP:
            pass
        elif rule is DeadlineRule.CLEAR:
            subject.deadline, subject.deadline_kind = None, None
        elif rule is DeadlineRule.RESTORE:
            if not subject.return_stack:
                restored = subject.saved_deadline
                paused = 0
                if restored is not None and proposed_on is not None and request.today is not None:
                    paused = max(0, calendar.between(proposed_on, request.today))
                    step = replace(step, paused_days=paused, restored_from=restored)
                    restored = calendar.add(restored, paused)
                subject.deadline, subject.deadline_kind = restored, subject.saved_deadline_kind
                subject.saved_deadline, subject.saved_deadline_kind = None, None
            else:  # still inside a nested proposal: a fresh approval period
                subject.deadline, subject.deadline_kind = self._new_deadline(
                    DeadlineRule.APPROVAL, request, policy, calendar)
        else:
            subject.deadline, subject.deadline_kind = self._new_deadline(rule, request, policy, calendar)
        if not entering_proposal and t.dest != PREVIOUS and rule is not DeadlineRule.KEEP:
            subject.saved_deadline, subject.saved_deadline_kind = None, None
        return step

    def _new_deadline(self, rule: DeadlineRule, request: Request, policy: Policy,
                      calendar: WorkCalendar) -> tuple[date | None, str | None]:
        days = self.deadline_days(rule, request, policy)
        if days is None or request.today is None:
            return None, None
        return calendar.add(request.today, days), rule.value

    # -- deadlines -------------------------------------------------------------------------

    def deadline_days(self, rule: DeadlineRule, request: Request, policy: Policy) -> int | None:
        """How many days the deadline set by `rule` allows; None when the rule sets no new one."""
        return {
            DeadlineRule.REVIEW: policy.review_days,
            DeadlineRule.REINSPECTION: policy.review_days,
            DeadlineRule.RECTIFICATION: policy.rectification_period(set(request.failed | request.major)),
            DeadlineRule.CESSATION: policy.cessation_days,
            DeadlineRule.ENFORCEMENT: policy.enforcement_days,
            DeadlineRule.APPROVAL: policy.approval_days,
            DeadlineRule.APPLICATION: policy.review_days,
        }.get(rule)

    # -- presentation ----------------------------------------------------------------------

    def state_zh(self, name: str) -> str:
        try:
            return self.spec.state(name).zh
        except KeyError:
            return name

    def table(self) -> list[tuple[str, str, str, str, str]]:
        """(trigger, 中文, from, to, roles) rows of the declaration."""
        rows = []
        for t in self.spec.transitions:
            if t.dest == PREVIOUS:
                dest = "（提议前的状态）"
            elif t.dest == SAME:
                dest = "（状态不变）"
            else:
                dest = f"{t.dest} {self.state_zh(t.dest)}"
            rows.append((t.trigger, t.zh, ", ".join(t.sources), dest, ", ".join(sorted(t.roles))))
        return rows

    def mermaid(self) -> str:
        lines = ["stateDiagram-v2"]
        for s in self.spec.states:
            lines.append(f"    {s.name}: {s.name} {s.zh}")
        lines.append(f"    [*] --> {self.spec.initial}")
        for t in self.spec.transitions:
            for src in t.sources:
                dests = {PREVIOUS: self._previous.get(src, ()), SAME: (src,)}.get(t.dest, (t.dest,))
                for d in dests:
                    lines.append(f"    {src} --> {d}: {t.trigger}")
        for s in self.spec.states:
            if s.terminal:
                lines.append(f"    {s.name} --> [*]")
        return "\n".join(lines)


_ENGINES: dict[tuple[str, int], Engine] = {}


def engine_for(spec: WorkflowSpec) -> Engine:
    """The one shared engine (and Machine) of a workflow version."""
    key = (spec.name, spec.version)
    eng = _ENGINES.get(key)
    if eng is None or eng.spec is not spec:
        eng = _ENGINES[key] = Engine(spec)
    return eng
