"""Two writers on one case: exactly one wins, the other gets a conflict, the chain stays intact."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from cases import audit, service
from cases.config import District
from cases.errors import Conflict, NotAllowed
from cases.models import Case, CaseEvent
from cases.service import Action, advance
from tests.conftest import NOW, Driver, People


def _race(engine: sa.Engine, district: District, case_id: int, actor_id: int, actions: list[Action]) -> list[Any]:
    barrier = threading.Barrier(len(actions))
    results: list[Any] = [None] * len(actions)

    def run(i: int) -> None:
        with Session(engine, expire_on_commit=False) as s:
            from cases.models import User

            actor = s.get(User, actor_id)
            barrier.wait()
            try:
                results[i] = advance(session=s, district=district, case_id=case_id, actor=actor,  # type: ignore[arg-type]
                                     action=actions[i], now=NOW)
            except (Conflict, NotAllowed) as exc:
                results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


@pytest.mark.parametrize("attempt", range(5))
def test_two_writers_one_wins(engine: sa.Engine, district: District, driver: Driver, people: People,
                              attempt: int) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    v = driver.session.get(Case, case.id).version  # type: ignore[union-attr]
    results = _race(engine, district, case.id, people.inspector.id,  # type: ignore[arg-type]
                    [Action("propose_closure", expected_version=v),
                     Action("order_rectification", failed=("R01",), expected_version=v)])
    wins = [r for r in results if isinstance(r, service.Result)]
    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, results
    with Session(engine) as s:
        c = s.get(Case, case.id)
        assert c is not None and c.state == wins[0].step.dest and c.version == v + 1
        assert len(s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()) == 3
        assert audit.verify(s) == []


def test_lost_update_is_caught_at_write_time(engine: sa.Engine, district: District, driver: Driver,
                                             people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer that read the case before another committed fails, even without expected_version."""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL serialises through SELECT … FOR UPDATE; covered by the threaded race")
    case = driver.open()
    driver.do(case, "start_review")
    original = service.load_case
    fired = False

    def get_case_then_interfere(session: Session, **kw: Any) -> service.WorkingCase:
        nonlocal fired
        loaded = original(session, **kw)
        if not fired:
            fired = True
            with Session(engine, expire_on_commit=False) as other:
                actor = other.get(type(people.inspector2), people.inspector2.id)
                advance(session=other, district=district, case_id=case.id, actor=actor,  # type: ignore[arg-type]
                        action=Action("propose_closure"), now=NOW)
        return loaded

    monkeypatch.setattr(service, "load_case", get_case_then_interfere)
    with pytest.raises(Conflict):
        driver.do(case, "order_rectification", failed=("R01",))
    with Session(engine) as s:
        c = s.get(Case, case.id)
        assert c is not None and c.state == "closure_proposed"
        assert [e.trigger for e in s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                          .order_by(CaseEvent.seq))] == ["open", "start_review", "propose_closure"]  # type: ignore[arg-type]
        assert audit.verify(s) == []
