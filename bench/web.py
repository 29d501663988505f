"""Benchmark: server time of the worklist and the case page with 100,000 cases (SQLite).

Fills a temporary SQLite database with bulk inserts (points, cases in every state, three
audit events per case), then times requests through the ASGI app (TestClient, in process):
an inspector's worklist (tabs, pages, a search), case pages of that township, and the
reviewer's queue and district-wide list. Prints median and p95 per page; the last line is
`p95_ms: X`, the worst p95 of the worklist and the case page.

    .venv/bin/python bench/web.py [--cases 100000] [--requests 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this folder comes first on sys.path, and bench/transitions.py would shadow the library
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from app.web import create_app
from app.web.security import SESSION_COOKIE, create_session
from cases.bootstrap import init_database
from cases.config import Settings, load_district
from cases.db import make_engine
from cases.models import Case, CaseEvent, Point, Township, User
from cases.users import add_user

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
DETAIL: dict[str, list[float]] = {}
TODAY = date(2026, 11, 2)
STATES = {  # weight, has a deadline
    "registered": (8, False), "under_review": (10, True), "rectifying": (14, True), "reinspecting": (6, True),
    "overdue": (8, True), "filing_proposed": (5, True), "refusal_proposed": (3, True),
    "conversion_proposed": (3, True), "enforcement_proposed": (3, True), "closure_proposed": (3, True),
    "refused": (4, True), "enforcement": (3, True), "filed": (12, False), "converted": (5, False),
    "closed": (8, False), "banned": (6, False),
}
NAMES = ("阳光", "小太阳", "童心", "快乐", "蓝天", "彩虹", "贝贝", "启航", "育苗", "小天使")


def fill(engine: sa.Engine, n_cases: int, seed: int = 7) -> dict[str, int]:
    """Bulk-insert points, cases and their audit events (not through the service: speed only)."""
    rng = random.Random(seed)
    with Session(engine, expire_on_commit=False) as s:
        towns = list(s.exec(select(Township)).all())
        admin = add_user(s, name="bench-admin", role="admin")
    names, weights = list(STATES), [w for w, _ in STATES.values()]
    point_t, case_t, event_t = Point.__table__, Case.__table__, CaseEvent.__table__  # type: ignore[attr-defined]
    batch = 10_000
    with engine.begin() as conn:
        for start in range(0, n_cases, batch):
            points, cases, events = [], [], []
            for i in range(start, min(start + batch, n_cases)):
                pid = i + 1
                town = towns[i % len(towns)]
                state = rng.choices(names, weights)[0]
                opened = NOW - timedelta(days=rng.randint(10, 400))
                deadline = TODAY + timedelta(days=rng.randint(-25, 30)) if STATES[state][1] else None
                if state == "overdue" and deadline and deadline >= TODAY:
                    deadline = TODAY - timedelta(days=rng.randint(1, 25))
                points.append({"id": pid, "name": f"{town.name}{rng.choice(NAMES)}托幼点（{pid:06d}）",
                               "township_id": town.id, "address": f"{town.name}{rng.randint(1, 300)}号",
                               "operator": f"举办者{rng.randint(1, 99999)}", "phone": "", "source": "registry",
                               "registered_on": date(2022, 1, 1) + timedelta(days=rng.randint(0, 500)),
                               "created_at": opened})
                cases.append({"id": pid, "point_id": pid, "township_id": town.id, "workflow": "rectification",
                              "state": state, "version": 3, "round": rng.randint(0, 2), "deadline": deadline,
                              "deadline_kind": "review" if deadline else None, "deadline_set_on": None,
                              "escalation_level": rng.randint(0, 3) if state == "overdue" else 0,
                              "proposer_id": admin.id if state.endswith("_proposed") else None,
                              "return_stack": "", "proposal_reason": "", "target": "",
                              "registered_on": date(2022, 1, 1), "last_seq": 3, "last_hash": "0" * 64,
                              "opened_at": opened, "updated_at": opened + timedelta(days=5)})
                for seq, (trigger, src, dst) in enumerate((("open", "", "registered"),
                                                           ("start_review", "registered", "under_review"),
                                                           ("order_rectification", "under_review", state)), 1):
                    events.append({"case_id": pid, "seq": seq, "at": opened + timedelta(days=seq),
                                   "actor_id": admin.id, "actor": "bench-admin", "role": "inspector",
                                   "trigger": trigger, "from_state": src, "to_state": dst, "reason": "",
                                   "evidence": [], "notice_number": "", "data": {}, "prev_hash": "0" * 64,
                                   "hash": f"{pid:032x}{seq:032x}"})
            conn.execute(sa.insert(point_t), points)
            conn.execute(sa.insert(case_t), cases)
            conn.execute(sa.insert(event_t), events)
        conn.execute(sa.text("ANALYZE"))
    return {"townships": len(towns)}


def timed(client: TestClient, urls: list[str], who: str = "") -> list[float]:
    out = []
    for url in urls:
        t0 = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - t0) * 1000)
        if not url.startswith("/cases/"):
            DETAIL.setdefault(f"{who} {url}", []).append(out[-1])
        if r.status_code != 200:
            raise SystemExit(f"{url} answered {r.status_code}: {r.text[:300]}")
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--detail", action="store_true", help="median per URL too")
    args = ap.parse_args()
    district = load_district(None)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        init_database(engine, district)
        t0 = time.perf_counter()
        fill(engine, args.cases)
        print(f"filled {args.cases} cases (3 events each) in {time.perf_counter() - t0:.1f} s")
        with Session(engine, expire_on_commit=False) as s:
            town = s.exec(select(Township).where(Township.code == district.townships[0].code)).one()
            inspector = add_user(s, name="bench-insp", role="inspector", township_code=town.code)
            reviewer = add_user(s, name="bench-rev", role="reviewer")
            own = [c for c in s.exec(select(Case.id).where(Case.township_id == town.id)).all() if c]
            clients = {}
            for user in (inspector, reviewer):
                u = s.get(User, user.id)
                assert u is not None
                clients[user.name] = create_session(s, u, now=NOW)
        app = create_app(engine=engine, district=district, settings=Settings(), clock=lambda: NOW,
                         data_dir=Path(tmp) / "data")
        rng = random.Random(1)
        n = args.requests
        worklist_urls = ["/worklist", "/worklist?tab=due", "/worklist?tab=overdue", "/worklist?tab=all",
                         "/worklist?tab=all&page=40", "/worklist?tab=all&state=rectifying&page=3",
                         "/worklist?tab=all&q=阳光托幼点", "/worklist?tab=todo&page=20"]
        results: dict[str, list[float]] = {}
        with TestClient(app) as client:
            client.cookies.set(SESSION_COOKIE, clients["bench-insp"])
            timed(client, [*worklist_urls, f"/cases/{own[0]}"])  # warm up
            results["worklist (inspector, 1 township)"] = timed(
                client, [worklist_urls[i % len(worklist_urls)] for i in range(n)], "inspector")
            results["case page (inspector)"] = timed(client, [f"/cases/{rng.choice(own)}" for _ in range(n)])
            client.cookies.set(SESSION_COOKIE, clients["bench-rev"])
            district_urls = ["/queue", "/queue?page=10", "/worklist?tab=all", "/worklist?tab=overdue&page=5",
                             "/worklist?tab=todo"]
            timed(client, district_urls)
            results["queue + district worklist (reviewer)"] = timed(
                client, [district_urls[i % len(district_urls)] for i in range(n)], "reviewer")
        engine.dispose()
    if args.detail:
        for url, values in sorted(DETAIL.items(), key=lambda kv: -statistics.median(kv[1])):
            print(f"  {statistics.median(values):7.1f} ms  {url}")
    print(f"{'page':40s} {'median ms':>10s} {'p95 ms':>8s}")
    for name, values in results.items():
        print(f"{name:40s} {statistics.median(values):10.1f} {p95(values):8.1f}")
    worst = max(p95(results["worklist (inspector, 1 township)"]), p95(results["case page (inspector)"]))
    print(f"p95_ms: {worst:.1f}")


if __name__ == "__main__":
    main()
