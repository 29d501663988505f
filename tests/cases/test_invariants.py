"""Invariants of the case service, fuzzed with hypothesis.

Each example opens a few cases in two townships and fires a random sequence of triggers at
`cases.service.advance`: triggers taken from the case's workflow declaration (so new triggers
are covered as they are declared) and an undeclared one now and then, by random actors
(inspectors of both townships, the lead, two reviewers, the committee, the admin, the system),
with random input (reasons empty, blank or invisible, failed and major items, unknown codes,
targets, stale versions) while the clock moves forward; now and then the scheduler sweeps.
After EVERY step it checks:

- the audit chain of every case verifies (`cases.audit.verify`);
- the case row agrees with its events: state = the last event's `to`, `last_seq` = the number
  of events, round and deadline = what the last transition recorded;
- four eyes: no approve or send back by the proposer of the proposal decided;
- rounds never exceed the district's maximum;
- township scope: a township user acting on another township's case gets `NotFound` (or, for
  input refused before any case is looked up, `InvalidInput`);
- a refused action (any `TuoyouError`) leaves everything as it was (the case row with its
  version, the number of events, notices, inspections, messages, escalations, the counters);
  an accepted one adds exactly one event and raises the version by one;
- notice numbers are gap-free and unique per series (district, kind, issuing body's series, year).

Examples: `TUOYOU_FUZZ_EXAMPLES` (default 50 on SQLite, 12 on PostgreSQL), derandomized so a
failure reproduces; set `TUOYOU_FUZZ_RANDOM=1` to explore new ground (hypothesis then prints the
seed to reproduce with `@seed`).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cases import audit
from cases.config import District
from cases.errors import InvalidInput, NotFound, TuoyouError
from cases.models import Case, CaseEvent, User
from cases.queries import case_engine, sees_all
from cases.service import Action, advance, open_case
from scheduler.sweeps import sweep
from tests.conftest import NOW, People

UNKNOWN_TRIGGER = "no_such_trigger"
REASONS = ["", " ", "\t\n ", "\u200b", "\u3000", "整改不到位，需再次检查", "x"]
TARGETS = ["", "  ", "普惠性幼儿园"]


_SERIAL = itertools.count(1)


def _examples(dialect: str) -> int:
    env = os.environ.get("TUOYOU_FUZZ_EXAMPLES")
    if env:
        return int(env)
    return 50 if dialect == "sqlite" else 12


def _settings(dialect: str) -> settings:
    return settings(
        max_examples=_examples(dialect),
        deadline=None,
        derandomize=os.environ.get("TUOYOU_FUZZ_RANDOM", "") != "1",
        print_blob=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large],
    )


# -- reading what was committed ----------------------------------------------------------------

CASE = Case.__table__  # type: ignore[attr-defined]
COUNTED = ("case_event", "notice", "inspection", "message", "escalation", "point", '"case"')


@dataclass(frozen=True)
class Snapshot:
    case: dict[str, Any] | None
    counts: dict[str, int]
    counters: tuple[tuple[Any, ...], ...]


def snapshot(engine: Engine, case_id: int) -> Snapshot:
    with engine.connect() as conn:
        row = conn.execute(sa.select(CASE).where(CASE.c.id == case_id)).mappings().first()
        counts = {t: int(conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in COUNTED}
        counters = tuple(tuple(r) for r in conn.execute(sa.text(
            "SELECT district, kind, series, year, last FROM notice_counter ORDER BY district, kind, series, year")))
    return Snapshot(dict(row) if row else None, counts, counters)


def events_of(engine: Engine, case_id: int) -> list[Any]:
    with Session(engine) as s:
        q = sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)  # type: ignore[arg-type]
        return list(s.execute(q).scalars())


def check_case(engine: Engine, district: District, case_id: int) -> None:
    """Every per-case invariant, on what is committed."""
    with Session(engine) as s:
        breaks = audit.verify(s, case_id=case_id)
    assert not breaks, f"chain of case {case_id} broken: {breaks}"
    row = snapshot(engine, case_id).case
    assert row is not None
    events = events_of(engine, case_id)
    assert events and events[0].trigger == "open"
    assert row["last_seq"] == len(events)
    assert row["last_hash"] == events[-1].hash
    assert row["state"] == events[-1].to_state, (row["state"], events[-1].trigger, events[-1].to_state)
    transitions = [e for e in events if e.trigger not in ("open", "escalate")]
    if transitions:
        last = transitions[-1].data
        assert row["round"] == last.get("round", 0), (row["round"], last)
        deadline = row["deadline"].isoformat() if row["deadline"] else None
        assert deadline == last.get("deadline"), (deadline, last)
    assert 0 <= row["round"] <= district.rounds.max
    assert all(0 <= e.data.get("round", 0) <= district.rounds.max for e in events)
    # four eyes: the decider of a proposal is never its proposer
    eng = case_engine(_Row(row))
    proposers: list[int | None] = []
    for e in events[1:]:
        t = eng.transition(e.trigger, e.from_state)
        if t is not None and t.proposes:
            proposers.append(e.actor_id)
        elif e.from_state and _is_proposal(eng, e.from_state) and e.trigger != "escalate":
            assert proposers, f"a decision on case {case_id} without a proposal"
            assert e.actor_id != proposers[-1], f"case {case_id}: {e.trigger} by the proposer {e.actor_id}"
            if not _is_proposal(eng, e.to_state):
                proposers.pop()


def _is_proposal(eng: Any, state: str) -> bool:
    try:
        return bool(eng.spec.state(state).proposal)
    except KeyError:
        return False


class _Row:
    def __init__(self, row: dict[str, Any]) -> None:
        self.__dict__.update(row)


def check_numbers(engine: Engine) -> None:
    """Notice numbers unique and gap-free per series (district, kind, issuing body's series, year); the counters
    agree."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT district, kind, series, year, count(*), count(DISTINCT seq), min(seq), max(seq) FROM notice"
            " GROUP BY district, kind, series, year")).all()
        counters = {(r[0], r[1], r[2], r[3]): r[4] for r in conn.execute(sa.text(
            "SELECT district, kind, series, year, last FROM notice_counter"))}
        dup = conn.execute(sa.text("SELECT count(*) - count(DISTINCT number) FROM notice")).scalar_one()
    assert dup == 0, "a notice number was given twice"
    for district, kind, series, year, n, distinct, lo, hi in rows:
        assert n == distinct and lo == 1 and hi == n, f"{kind} {series!r} {year}: {n} notices, seq {lo}..{hi}"
        assert counters[(district, kind, series, year)] == hi


# -- the fuzzer ----------------------------------------------------------------------------------


def _actors(people: People) -> list[User]:
    return [people.inspector, people.inspector2, people.other_inspector, people.lead, people.reviewer,
            people.reviewer2, people.committee, people.admin, people.system]


def _in_scope(actor: User, township_id: int) -> bool:
    return sees_all(actor) or actor.township_id == township_id


def _fuzz(engine: Engine, session: Session, district: District, people: People, data: st.DataObject,
          clock: list[datetime]) -> None:
    """One example: a few new cases, a random sequence of steps, every invariant after each step."""
    actors = _actors(people)
    codes = [c.code for c in district.checklist]
    majors = [c.code for c in district.checklist if c.major_capable]
    item_codes = st.sampled_from([*codes, "ZZ9"]) if data.draw(st.booleans(), "unknown codes") else \
        st.sampled_from(codes)
    rng = data.draw(st.randoms(use_true_random=False), "rng")  # an even pick among the triggers possible now
    done: Counter[str] = Counter()
    case_ids: list[int] = []
    ended: set[int] = set()
    towns: dict[int, int] = {}

    def open_one(now: datetime) -> None:
        other = data.draw(st.booleans(), "other township")
        opener = people.other_inspector if other else people.inspector
        town = people.other_town if other else people.town
        serial = next(_SERIAL)  # the database outlives one example: each point is a new one (not a duplicate)
        case = open_case(session=session, district=district, actor=opener, name=f"托幼点{serial}",
                         township_code=town.code, address=f"某村{serial}号", operator="张三",
                         basis="原备案台账（测试）",
                         registered_on=data.draw(st.sampled_from([NOW.date() - timedelta(days=1500),
                                                                  NOW.date() - timedelta(days=3)]), "registered"),
                         now=now)
        assert case.id is not None
        case_ids.append(case.id)
        towns[case.id] = case.township_id
        check_case(engine, district, case.id)

    open_one(clock[0])
    for _ in range(data.draw(st.integers(5, 40), "steps")):
        clock[0] += timedelta(days=data.draw(st.sampled_from([0, 0, 0, 1, 3, 12, 30]), "days forward"))
        now = clock[0]
        kind = data.draw(st.sampled_from(["act"] * 12 + ["open", "sweep"]), "kind")
        live = [c for c in case_ids if c not in ended]
        if (kind == "open" and len(case_ids) < 4) or (not live and len(case_ids) < 8):
            open_one(now)
            continue
        if kind == "sweep":
            sweep(engine, district, now, deliver=False)
            for cid in case_ids:
                check_case(engine, district, cid)
            check_numbers(engine)
            continue
        ended_too = not live or data.draw(st.integers(0, 9), "an ended case too") == 9
        case_id = rng.choice(case_ids if ended_too else live)
        before = snapshot(engine, case_id)
        assert before.case is not None
        row = _Row(before.case)
        eng = case_engine(row)
        if eng.spec.state(row.state).terminal:
            ended.add(case_id)
        may = {a.name: eng.allowed(row, a.role, a.id, district.policy(), now.date())  # type: ignore[arg-type]
               for a in actors}
        possible = sorted({t for ts in may.values() for t in ts})
        if possible and data.draw(st.integers(0, 9), "pick") < 8:  # mostly a trigger someone may fire now
            # the less often a trigger was done in this example, the likelier it is chosen: deep, varied paths
            trigger = rng.choices(possible, weights=[1 / (1 + done[t]) ** 2 for t in possible])[0]
            fit = [a for a in actors if trigger in may[a.name] and _in_scope(a, towns[case_id])] or actors
            anyone = data.draw(st.integers(0, 4), "anyone") == 4
            actor = data.draw(st.sampled_from(actors if anyone else fit), "actor")
        else:
            trigger = data.draw(st.sampled_from([*eng.spec.triggers, UNKNOWN_TRIGGER]), "any trigger")
            actor = data.draw(st.sampled_from(actors), "actor")
        t = eng.transition(trigger, row.state)
        guards = {g.code for g in t.guards} if t else set()
        sensible = data.draw(st.integers(0, 9), "sensible input") < 7
        if sensible:
            inspection = bool(t and t.inspection)
            failed = data.draw(st.lists(st.sampled_from(codes), min_size=1 if "some_failed" in guards else 0,
                                        max_size=3, unique=True), "failed") \
                if inspection and "all_passed" not in guards else []
            major = data.draw(st.lists(st.sampled_from(majors), min_size=1, max_size=2, unique=True), "major") \
                if inspection and "has_major" in guards and majors else []
            failed = [c for c in failed if c not in major]
            reason = data.draw(st.sampled_from(REASONS[-2:]) if "reason" in guards else st.sampled_from(REASONS),
                               "reason")
            target = TARGETS[-1] if "target" in guards else data.draw(st.sampled_from(TARGETS), "target")
        else:
            failed = data.draw(st.lists(item_codes, max_size=3, unique=True), "failed")
            major = data.draw(st.lists(item_codes, max_size=2, unique=True), "major")
            reason = data.draw(st.sampled_from(REASONS) | st.text(max_size=20), "reason")
            target = data.draw(st.sampled_from(TARGETS), "target")
        version = before.case["version"]
        action = Action(
            trigger=trigger, reason=reason, failed=tuple(failed), major=tuple(major), target=target,
            expected_version=rng.choice([None, version, version - 1] if rng.random() < 0.1 else [None, version]),
        )
        try:
            result = advance(session=session, district=district, case_id=case_id, actor=actor, action=action,
                             now=now)
        except TuoyouError as exc:
            after = snapshot(engine, case_id)
            assert after == before, f"refused {trigger} ({exc.en}) changed the data"
            if not _in_scope(actor, towns[case_id]):
                # bad input is refused before the case is looked up (it says nothing about the case);
                # anything else about another township's case is "not found"
                assert isinstance(exc, NotFound | InvalidInput), f"{actor.name} reached a case not theirs: {exc.en}"
            event(f"refused: {type(exc).__name__}")
        else:
            event(f"done: {trigger}")
            done[trigger] += 1
            assert _in_scope(actor, towns[case_id]), f"{actor.name} changed another township's case"
            after = snapshot(engine, case_id)
            assert after.case is not None
            assert after.case["version"] == version + 1
            assert after.counts["case_event"] == before.counts["case_event"] + 1
            assert result.case.state == after.case["state"]
            assert action.expected_version in (None, version)
        check_case(engine, district, case_id)
        check_numbers(engine)
    with Session(engine) as s:
        assert audit.verify(s) == []


def test_invariants_hold_under_random_sequences(engine: Engine, session: Session, district: District,
                                                people: People) -> None:
    @_settings(engine.dialect.name)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        _fuzz(engine, session, district, people, data, [NOW])

    run()
    with engine.connect() as conn:
        done = {r[0] for r in conn.execute(sa.text("SELECT DISTINCT trigger FROM case_event"))}
    if _examples(engine.dialect.name) >= 10:  # the fuzzer reached well into the lifecycle, not only refusals
        assert len(done - {"open", "escalate"}) >= 6, done
