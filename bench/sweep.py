"""Benchmark: one scheduler sweep over 10,000 and over 100,000 cases with the same work due.

Fills a SQLite database fast (bulk executemany, no audit chain), with the same number of
due steps in both sizes (overdue marking, every ladder rung, late approvals, reminders) and
the rest of the table not due (terminal cases, future deadlines, cases already at level 3).
Times one full sweep, then an idle sweep (nothing left to do), for each size (best of
`--repeat` interleaved runs), and prints as its last line `growth: X` = sweep time at 100k /
sweep time at 10k. The sweep's cost should
follow what is due, not the size of the table, so X should stay near 1 (at most 2).

    .venv/bin/python bench/sweep.py [--due 1000] [--sizes 10000 100000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

# run as a script, this folder would come first on sys.path and bench/transitions.py would shadow the
# `transitions` library: put the project root there instead
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from cases.bootstrap import init_database
from cases.config import District, load_district
from cases.db import make_engine
from cases.models import Case, Point, Township, User
from cases.users import hash_password
from scheduler.sweeps import SweepReport, sweep

_LOGGER = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 24)  # a Tuesday
NOW = datetime.combine(TODAY, dtime(10, 0), TZ).astimezone(UTC)
TERMINAL = ("filed", "closed", "banned", "converted")


def _users(engine: Engine, district: District) -> None:
    with engine.begin() as conn:
        towns = dict(conn.execute(sa.select(Township.__table__.c.code, Township.__table__.c.id)).all())  # type: ignore[attr-defined]
        pw = hash_password("bench")
        rows = []
        for i, t in enumerate(district.townships, start=1):
            for role in ("inspector", "lead"):
                rows.append({"name": f"{role}{i:02d}", "display_name": f"{t.name}{role}", "role": role,
                             "township_id": towns[t.code], "email": f"{role}{i:02d}@bench.invalid"})
        rows += [{"name": f"reviewer{i}", "display_name": f"审核员{i}", "role": "reviewer", "township_id": None,
                  "email": f"reviewer{i}@bench.invalid"} for i in (1, 2)]
        rows.append({"name": "committee", "display_name": "委员会", "role": "committee", "township_id": None,
                     "email": "committee@bench.invalid"})
        for r in rows:
            r.update(password_hash=pw, token_hash="", active=True, failed_logins=0, locked_until=None,
                     created_at=NOW)
        conn.execute(User.__table__.insert(), rows)  # type: ignore[attr-defined]


def _plan(district: District, n: int, due: int, rng: random.Random) -> list[dict[str, object]]:
    """(state, deadline, kind, level, set_on) of every case: `due` with work due now, the rest not."""
    cal = district.work_calendar()
    far = cal.add(TODAY, 6)  # days_left ≥ 6: no reminder due today
    rows: list[dict[str, object]] = []

    def add(count: int, state: str, deadline: date | None, kind: str | None, level: int = 0) -> None:
        for _ in range(count):
            rows.append({"state": state, "deadline": deadline, "deadline_kind": kind, "escalation_level": level,
                         "deadline_set_on": (deadline - timedelta(days=40)) if deadline else None})

    # -- due: the same in every size
    q = due // 20
    add(5 * q, "rectifying", TODAY - timedelta(days=1), "rectification")  # expire + level 1
    add(5 * q, "overdue", date(2026, 11, 6), "rectification")  # 12 working days: levels 1, 2, 3
    add(3 * q, "overdue", date(2026, 11, 17), "rectification", 1)  # 5 working days: level 2
    add(2 * q, "filing_proposed", date(2026, 11, 20), "approval")  # late approval → committee
    for d in (1, 3, 5):  # reminders whose day it is
        add(5 * q // 3 + (5 * q % 3 if d == 1 else 0), "rectifying", cal.add(TODAY, d), "rectification")
    # -- not due
    rest = n - len(rows)
    shares = [(0.35, "terminal"), (0.15, "registered"), (0.15, "under_review"), (0.15, "rectifying"),
              (0.10, "overdue3"), (0.05, "overdue1"), (0.05, "proposal")]
    for i, (share, what) in enumerate(shares):
        count = int(rest * share) if i < len(shares) - 1 else n - len(rows)
        for _ in range(count):
            future = far + timedelta(days=rng.randint(0, 40))
            if what == "terminal":
                add(1, rng.choice(TERMINAL), None, None)
            elif what == "registered":
                add(1, "registered", None, None)
            elif what == "under_review":
                add(1, "under_review", future, "review")
            elif what == "rectifying":
                add(1, "rectifying", future, "rectification")
            elif what == "overdue3":
                add(1, "overdue", TODAY - timedelta(days=rng.randint(30, 400)), "rectification", 3)
            elif what == "overdue1":
                add(1, "overdue", date(2026, 11, 20), "rectification", 1)  # level 2 not due yet
            else:
                add(1, "conversion_proposed", future, "approval")
    rng.shuffle(rows)
    return rows


def fill(url: str, district: District, n: int, due: int, seed: int = 7) -> Engine:
    engine = make_engine(url)
    init_database(engine, district)
    _users(engine, district)
    rng = random.Random(seed)
    plan = _plan(district, n, due, rng)
    with engine.begin() as conn:
        town_ids = [r[0] for r in conn.execute(sa.select(Township.__table__.c.id))]  # type: ignore[attr-defined]
        points = [{"name": f"基准托幼点{i:06d}", "township_id": town_ids[i % len(town_ids)],
                   "address": f"某村{i}号", "operator": "张三", "phone": "", "registered_on": date(2022, 5, 1),
                   "source": "registry", "children": None, "created_at": NOW} for i in range(n)]
        conn.execute(Point.__table__.insert(), points)  # type: ignore[attr-defined]
        point_ids = [r[0] for r in conn.execute(sa.select(Point.__table__.c.id).order_by(Point.__table__.c.id))]  # type: ignore[attr-defined]
        cases = []
        for pid, p, row in zip(point_ids, points, plan, strict=True):
            cases.append({**row, "point_id": pid, "township_id": p["township_id"], "workflow": "rectification",
                          "version": 1, "round": 1, "saved_deadline": None, "saved_deadline_kind": None,
                          "proposer_id": None, "return_stack": "", "proposal_reason": "", "target": "",
                          "registered_on": date(2022, 5, 1), "last_seq": 0, "last_hash": "", "opened_at": NOW,
                          "updated_at": NOW})
        conn.execute(Case.__table__.insert(), cases)  # type: ignore[attr-defined]
    return engine


def measure(n: int, due: int, district: District, workdir: Path, *, quiet: bool = False
            ) -> tuple[float, float, SweepReport]:
    url = f"sqlite:///{workdir / f'bench_{n}.db'}"
    t0 = time.perf_counter()
    engine = fill(url, district, n, due)
    filled = time.perf_counter() - t0
    t0 = time.perf_counter()
    report = sweep(engine, district, NOW)
    took = time.perf_counter() - t0
    t0 = time.perf_counter()
    idle_report = sweep(engine, district, NOW + timedelta(minutes=5))
    idle = time.perf_counter() - t0
    assert sum(idle_report.escalated.values()) + idle_report.expired + idle_report.reminded == 0
    steps = report.expired + sum(report.escalated.values()) + report.approvals_escalated + report.reminded
    engine.dispose()
    if quiet:
        return took, idle, report
    print(f"{n:>7} cases: filled in {filled:5.1f} s; sweep {took:6.2f} s for {steps} steps "
          f"(expired {report.expired}, escalated {dict(sorted(report.escalated.items()))}, "
          f"late approvals {report.approvals_escalated}, reminders {report.reminded}); "
          f"idle sweep {idle * 1000:6.1f} ms")
    return took, idle, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--due", type=int, default=1000, help="cases with work due (same in every size)")
    parser.add_argument("--sizes", type=int, nargs=2, default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=2, help="runs per size, interleaved; the best counts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    district = load_district(None)
    small, large = args.sizes
    best: dict[int, tuple[float, float]] = {}
    reports: dict[int, SweepReport] = {}
    with tempfile.TemporaryDirectory(prefix="tuoyou-bench-") as tmp:
        measure(1000, 100, district, Path(tmp), quiet=True)  # warm-up: imports, caches, compiled statements
        for _ in range(max(args.repeat, 1)):
            for n in (small, large):
                took, idle, reports[n] = measure(n, args.due, district, Path(tmp))
                prev = best.get(n, (float("inf"), float("inf")))
                best[n] = (min(prev[0], took), min(prev[1], idle))
                (Path(tmp) / f"bench_{n}.db").unlink()
    assert reports[small].as_dict()["escalated"] == reports[large].as_dict()["escalated"], "same work due"
    (t_small, idle_small), (t_large, idle_large) = best[small], best[large]
    print(f"sweep (best of {args.repeat}): {small} cases {t_small:.2f} s, {large} cases {t_large:.2f} s")
    print(f"idle sweep: {small} cases {idle_small * 1000:.1f} ms, {large} cases {idle_large * 1000:.1f} ms")
    print(f"growth: {t_large / t_small:.2f}")


if __name__ == "__main__":
    main()
