"""Soak test: several web workers and two scheduler processes on one PostgreSQL database, under load.

    python bench/soak.py [--seconds 300] [--agents 30] [--workers 4] [--schedulers 2] [--keep]

It creates a fresh schema in the database named by `TUOYOU_TEST_PG` (else PostgreSQL on
127.0.0.1:5432, database `test`), seeds it with the demo district, users and cases (some with
deadlines already missed, so the sweeps have work at once), then starts, on loopback only:

- `tuoyou serve --workers N --no-scheduler` (the web app and JSON API in N processes);
- `tuoyou scheduler run` twice, sweeping every 3 seconds against a simulated clock that runs
  2,880 times faster than the wall clock (a day every 30 s), so missed deadlines keep climbing
  the supervision ladder while the agents work;
- simulated inspectors (four in each of six townships) and reviewers, each a loop of
  list → show → act through `/api/v1` with its own bearer token, pausing 0.5–2 s between
  actions; inspectors register points, review, order rectification, ask for re-inspection and
  propose outcomes, reviewers approve or send back; now and then an inspector asks for another
  township's case (it must be "not found").

At the end it stops everything, then counts: the transitions done (by the API and by the
schedulers), the p95 latency of the API actions, errors (5xx, transport errors, unexpected
answers, tracebacks in the servers' logs) and duplicates (events with the same case and seq,
an escalation rung or an expiry recorded twice, a notice number given twice), checks notice
numbers are gap-free in each series, and runs `tuoyou audit verify`. The schema is dropped afterwards
(`--keep` keeps it). Exit status 0 only with no errors, no duplicates and intact chains.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

# This folder holds a `transitions.py` bench that would shadow the `transitions` library.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx
import sqlalchemy as sa
from sqlmodel import Session

from cases.bootstrap import init_database
from cases.config import District, load_district
from cases.db import make_engine
from cases.errors import TuoyouError
from cases.service import Action, advance, open_case
from cases.users import add_user, issue_token, system_user

PG_URL = os.environ.get("TUOYOU_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOWNSHIPS = 6
INSPECTORS_PER_TOWN = 4
CLOCK_SPEED = 2880.0  # a simulated day every 30 s of wall time
SWEEP_MINUTES = 0.05  # every 3 s
PAUSE = (0.5, 2.0)
PROPOSALS = ("filing_proposed", "refusal_proposed", "conversion_proposed", "enforcement_proposed",
             "closure_proposed")
# How much an agent prefers each trigger when several are allowed (unknown new triggers: 1).
WEIGHTS = {"start_review": 6, "order_rectification": 6, "request_reinspection": 6, "fail_reinspection": 3,
           "propose_filing": 5, "propose_refusal": 1, "propose_conversion": 1, "propose_enforcement": 2,
           "propose_closure": 1, "suspend": 1, "approve": 8, "send_back": 2, "confirm_ceased": 2,
           "confirm_ban": 2, "reopen": 1}


def tuoyou_exe() -> list[str]:
    exe = Path(sys.executable).with_name("tuoyou")
    return [str(exe)] if exe.exists() else [shutil.which("tuoyou") or "tuoyou"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the database ------------------------------------------------------------------------------


def create_schema() -> tuple[str, str]:
    schema = f"soak_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema, f"{PG_URL}?options=-csearch_path%3D{schema}"


def drop_schema(schema: str) -> None:
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@dataclass
class Agent:
    name: str
    role: str
    token: str
    township: str | None = None


def seed(url: str, district: District, agents_wanted: int) -> tuple[list[Agent], dict[str, int]]:
    """Users with tokens, and cases: fresh ones, and ones whose deadlines were missed weeks ago."""
    engine = make_engine(url)
    init_database(engine, district)
    towns = [t.code for t in district.townships[:TOWNSHIPS]]
    agents: list[Agent] = []
    counts: Counter[str] = Counter()
    real_now = datetime.now(UTC)
    failed = [c.code for c in district.checklist if not c.major_capable][:2] or [district.checklist[0].code]
    with Session(engine, expire_on_commit=False) as s:
        system_user(s)
        inspectors = {}
        reviewers = []
        n_reviewers = max(2, agents_wanted - TOWNSHIPS * INSPECTORS_PER_TOWN)
        for t_i, code in enumerate(towns):
            for k in range(INSPECTORS_PER_TOWN):
                u = add_user(s, name=f"soak_insp{t_i + 1}_{k + 1}", role="inspector", township_code=code)
                inspectors.setdefault(code, []).append(u)
                agents.append(Agent(u.name, "inspector", issue_token(s, u), code))
        for k in range(n_reviewers):
            u = add_user(s, name=f"soak_rev{k + 1}", role="reviewer")
            reviewers.append(u)
            agents.append(Agent(u.name, "reviewer", issue_token(s, u)))
        for code in towns:
            insp = inspectors[code][0]
            for i in range(40):  # fresh cases for the agents
                open_case(session=s, district=district, actor=insp, name=f"soak托幼点{code[-3:]}-{i}",
                          township_code=code, address=f"某村1-{i}号", operator="张三", registered_on=date(2023, 5, 1),
                          basis="原备案台账")
                counts["registered"] += 1
            for i in range(10):  # deadlines missed 6–40 days ago: expiry and the ladder at once
                back = real_now - timedelta(days=random.Random(i).randint(30, 60))
                case = open_case(session=s, district=district, actor=insp, name=f"soak逾期点{code[-3:]}-{i}",
                                 township_code=code, address=f"某村2-{i}号", operator="李四",
                                 registered_on=date(2023, 5, 1), now=back, basis="原备案台账")
                assert case.id is not None
                steps: list[tuple[str, Any, dict[str, Any]]] = [("start_review", insp, {})]
                if i % 5 == 4:  # a proposal nobody decided on
                    steps.append(("propose_filing", insp, {}))
                elif i % 3:  # a rectification deadline missed
                    steps.append(("order_rectification", insp, {"failed": tuple(failed)}))
                for trigger, actor, kw in steps:
                    advance(session=s, district=district, case_id=case.id, actor=actor,
                            action=Action(trigger, **kw), now=back)
                counts["due"] += 1
    engine.dispose()
    return agents, dict(counts)


# -- the load ------------------------------------------------------------------------------------


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    do_latencies: list[float] = field(default_factory=list)
    status: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    conflicts: int = 0
    scoped_404: int = 0

    def error(self, what: str) -> None:
        self.errors.append(what)
        if len(self.errors) <= 10:
            print(f"  error: {what}", file=sys.stderr)


def inputs_for(trigger: str, district: District, rng: random.Random) -> dict[str, Any]:
    plain = [c.code for c in district.checklist if not c.major_capable]
    major = [c.code for c in district.checklist if c.major_capable]
    body: dict[str, Any] = {"trigger": trigger, "reason": f"模拟{trigger}（soak）"}
    if trigger in ("order_rectification", "fail_reinspection"):
        body["failed"] = rng.sample(plain, k=min(2, len(plain)))
    elif trigger == "suspend":
        body["major"] = [rng.choice(major)]
    elif trigger == "propose_conversion":
        body["target"] = "普惠性幼儿园"
    return body


class Runner:
    def __init__(self, base: str, district: District, stats: Stats, stop_at: float,
                 other_case_ids: dict[str, list[int]]) -> None:
        self.base = base
        self.district = district
        self.stats = stats
        self.stop_at = stop_at
        self.case_ids = other_case_ids  # township → case ids seen, to probe scoping

    async def call(self, client: httpx.AsyncClient, method: str, path: str, *, ok: tuple[int, ...] = (200,),
                   **kw: Any) -> httpx.Response | None:
        t0 = time.perf_counter()
        try:
            r = await client.request(method, self.base + path, **kw)
        except httpx.HTTPError as exc:
            self.stats.error(f"{method} {path}: {type(exc).__name__} {exc}")
            return None
        ms = (time.perf_counter() - t0) * 1000
        self.stats.latencies.append(ms)
        if path.endswith("/do"):
            self.stats.do_latencies.append(ms)
        self.stats.status[str(r.status_code)] += 1
        if r.status_code not in ok:
            self.stats.error(f"{method} {path} → {r.status_code} {r.text[:200]}")
            return None
        return r

    async def pause(self, rng: random.Random) -> bool:
        await asyncio.sleep(rng.uniform(*PAUSE))
        return time.monotonic() < self.stop_at

    async def agent(self, a: Agent, seed_: int) -> None:
        rng = random.Random(seed_)
        headers = {"Authorization": f"Bearer {a.token}"}
        async with httpx.AsyncClient(headers=headers, timeout=30) as client:
            await asyncio.sleep(rng.uniform(0, 2))
            while time.monotonic() < self.stop_at:
                roll = rng.random()
                if a.role == "inspector" and roll < 0.08:
                    await self.register(client, a, rng)
                elif roll < 0.13:
                    await self.call(client, "GET", "/api/v1/inbox")
                elif a.role == "inspector" and roll < 0.16:
                    await self.probe_other_township(client, a, rng)
                else:
                    await self.work(client, a, rng)
                if not await self.pause(rng):
                    break

    async def register(self, client: httpx.AsyncClient, a: Agent, rng: random.Random) -> None:
        body = {"name": f"新登记托幼点{uuid.uuid4().hex[:8]}", "township": a.township, "address": "某路8号",
                "operator": "王五", "registered_on": "2023-05-01", "basis": "原备案台账"}
        r = await self.call(client, "POST", "/api/v1/points", json=body, ok=(200, 201))
        if r is not None:
            self.stats.done["open"] += 1

    async def probe_other_township(self, client: httpx.AsyncClient, a: Agent, rng: random.Random) -> None:
        others = [ids for town, ids in self.case_ids.items() if town != a.township and ids]
        if not others:
            return
        case_id = rng.choice(rng.choice(others))
        r = await self.call(client, "POST", f"/api/v1/cases/{case_id}/do", json={"trigger": "start_review"},
                            ok=(404,))
        if r is not None:
            self.stats.scoped_404 += 1

    async def work(self, client: httpx.AsyncClient, a: Agent, rng: random.Random) -> None:
        params: dict[str, Any] = {"per_page": 100}
        if a.role == "reviewer":
            params["state"] = rng.choice([*PROPOSALS, "enforcement", "filed"] if rng.random() < 0.15 else PROPOSALS)
        r = await self.call(client, "GET", "/api/v1/cases", params=params)
        if r is None:
            return
        items = [i for i in r.json()["items"] if i["state"] not in ("filed", "converted", "closed", "banned")
                 or a.role == "reviewer"]
        if a.township:
            self.case_ids[a.township] = [i["id"] for i in r.json()["items"]][:50]
        if not items:
            return
        case_id = rng.choice(items)["id"]
        if not await self.pause(rng):
            return
        r = await self.call(client, "GET", f"/api/v1/cases/{case_id}")
        if r is None:
            return
        case = r.json()
        allowed = case["allowed"]
        if not allowed:
            return
        trigger = rng.choices(allowed, weights=[WEIGHTS.get(t, 1) for t in allowed])[0]
        body = inputs_for(trigger, self.district, rng)
        if trigger == "send_back" or (trigger == "approve" and rng.random() < 0.2 and "send_back" in allowed):
            body = inputs_for("send_back", self.district, rng)
        body["expected_version"] = case["version"]
        if not await self.pause(rng):
            return
        r = await self.call(client, "POST", f"/api/v1/cases/{case_id}/do", json=body, ok=(200, 409))
        if r is None:
            return
        if r.status_code == 409:
            self.stats.conflicts += 1
        else:
            self.stats.done[body["trigger"]] += 1


# -- processes ---------------------------------------------------------------------------------


def start(cmd: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)


def stop(p: subprocess.Popen[bytes], timeout: float = 30) -> None:
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGINT)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_ready(base: str, token: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=2).status_code \
                    == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("soak: the web workers did not answer in time")


# -- the checks --------------------------------------------------------------------------------

DUPLICATE_QUERIES = {
    "events with the same case and seq":
        "SELECT count(*) - count(DISTINCT (case_id, seq)) FROM case_event",
    "escalation rungs recorded twice":
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM case_event WHERE trigger = 'escalate'"
        " GROUP BY case_id, data->>'missed_deadline', data->>'kind', data->>'level') t",
    # (a catch-up claims every rung due but issues one event, for the highest: claims may outnumber events)
    "escalation events without their claim":
        "SELECT count(*) FROM case_event e WHERE e.trigger = 'escalate' AND NOT EXISTS (SELECT 1 FROM escalation x"
        " WHERE x.case_id = e.case_id AND x.deadline = (e.data->>'missed_deadline')::date"
        " AND x.level = (e.data->>'level')::int)",
    "expiries recorded twice for one deadline":
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM case_event WHERE trigger = 'expire'"
        " GROUP BY case_id, data->>'deadline') t",
    "notice numbers given twice":
        "SELECT count(*) - count(DISTINCT number) FROM notice",
    "notice sequence numbers given twice":
        "SELECT count(*) - count(DISTINCT (district, kind, series, year, seq)) FROM notice",
    "messages queued twice":
        "SELECT count(*) - count(DISTINCT dedupe_key) FROM message",
}
GAPS = ("SELECT coalesce(sum(mx - n), 0) FROM (SELECT max(seq) AS mx, count(*) AS n FROM notice"
        " GROUP BY district, kind, series, year) t")


def check(url: str, since: datetime) -> tuple[dict[str, int], int, Counter[str], int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        dups = {k: int(conn.execute(sa.text(q)).scalar() or 0) for k, q in DUPLICATE_QUERIES.items()}
        gaps = int(conn.execute(sa.text(GAPS)).scalar() or 0)
        by_trigger = Counter({row[0]: int(row[1]) for row in conn.execute(sa.text(
            "SELECT trigger, count(*) FROM case_event WHERE role = 'system' AND at >= :since GROUP BY trigger"),
            {"since": since})})
        escalations = int(conn.execute(sa.text("SELECT count(*) FROM escalation")).scalar() or 0)
    engine.dispose()
    return dups, gaps, by_trigger, escalations


def log_problems(logs: list[Path]) -> list[str]:
    bad = []
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if "Traceback" in line or " ERROR " in line or "Exception in ASGI" in line:
                bad.append(f"{log.name}: {line.strip()[:200]}")
    return bad


def p(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=300.0, help="how long the load runs (default 300)")
    ap.add_argument("--agents", type=int, default=30, help="simulated users, at least 20 (default 30)")
    ap.add_argument("--workers", type=int, default=4, help="web worker processes (default 4)")
    ap.add_argument("--schedulers", type=int, default=2, help="`scheduler run` processes (default 2)")
    ap.add_argument("--seed", type=int, default=1, help="random seed of the agents (default 1)")
    ap.add_argument("--keep", action="store_true", help="keep the schema afterwards (its name is printed)")
    args = ap.parse_args()
    if args.agents < 20 or args.seconds <= 0:
        ap.error("--agents must be at least 20 and --seconds positive")

    district = load_district(None)
    schema, url = create_schema()
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="tuoyou-soak-"))
    try:
        t0 = time.monotonic()
        agents, seeded = seed(url, district, args.agents)
        print(f"soak: schema {schema}; seeded {sum(seeded.values())} cases ({seeded.get('due', 0)} with missed "
              f"deadlines), {len(agents)} users in {time.monotonic() - t0:.1f} s", flush=True)
        env = {**os.environ, "TUOYOU_DATABASE_URL": url, "TUOYOU_DATA_DIR": str(tmp / "data")}
        env.pop("TUOYOU_CONFIG", None)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        logs = [tmp / "web.log"]
        procs.append(start([*tuoyou_exe(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers",
                            str(args.workers), "--no-scheduler"], logs[0], env))
        wait_ready(base, agents[0].token, time.monotonic() + 120)
        started = datetime.now(UTC)
        clock_start = started.isoformat()
        for k in range(args.schedulers):
            logs.append(tmp / f"scheduler{k + 1}.log")
            procs.append(start([*tuoyou_exe(), "scheduler", "run", "--interval", str(SWEEP_MINUTES),
                                "--clock-start", clock_start, "--clock-speed", str(CLOCK_SPEED)], logs[-1], env))
        print(f"soak: {args.workers} web workers on {base}, {args.schedulers} schedulers (sweep every "
              f"{SWEEP_MINUTES * 60:g} s, clock {CLOCK_SPEED:g}x), {len(agents)} agents for {args.seconds:g} s",
              flush=True)
        stats = Stats()
        runner = Runner(base, district, stats, time.monotonic() + args.seconds, {})

        async def load() -> None:
            await asyncio.gather(*(runner.agent(a, args.seed * 1000 + i) for i, a in enumerate(agents)))

        asyncio.run(load())
        for proc in procs:
            if proc.poll() is not None:
                stats.error(f"a server process exited early ({proc.args})")
        for proc in reversed(procs):
            stop(proc)
        procs.clear()

        dups, gaps, system_done, escalations = check(url, started)
        problems = log_problems(logs)
        for line in problems[:10]:
            print(f"  log: {line}", file=sys.stderr)
        verify = subprocess.run([*tuoyou_exe(), "audit", "verify"], env=env, capture_output=True, text=True)
        errors = len(stats.errors) + len(problems)
        duplicates = sum(dups.values())
        api_done = sum(stats.done.values())
        sys_done = sum(system_done.values())
        print(f"transitions: {api_done + sys_done} (api {api_done}: "
              + ", ".join(f"{k} {v}" for k, v in stats.done.most_common())
              + f"; schedulers {sys_done}: " + ", ".join(f"{k} {v}" for k, v in system_done.most_common()) + ")")
        print(f"requests: {len(stats.latencies)} ({', '.join(f'{k}: {v}' for k, v in sorted(stats.status.items()))});"
              f" conflicts (409, retried by the user): {stats.conflicts}; other township refused (404):"
              f" {stats.scoped_404}; escalation rungs taken: {escalations}")
        print(f"p50_ms: {p(stats.latencies, 0.5):.1f}  p99_ms: {p(stats.latencies, 0.99):.1f}  "
              f"actions p95_ms: {p(stats.do_latencies, 0.95):.1f}")
        print(f"p95_ms: {p(stats.latencies, 0.95):.1f}")
        print(f"errors: {errors}")
        for k, v in dups.items():
            if v:
                print(f"  duplicate: {k}: {v}")
        print(f"duplicates: {duplicates}")
        print(f"notice number gaps: {gaps}")
        said = [line.strip() for line in (verify.stdout + verify.stderr).strip().splitlines() if line.strip()]
        print(f"audit verify: exit {verify.returncode}: {' / '.join(said[:3])}")
        ok = errors == 0 and duplicates == 0 and gaps == 0 and verify.returncode == 0
        if not ok:
            args.keep_logs = True
        return 0 if ok else 1
    finally:
        for proc in procs:
            stop(proc)
        if args.keep:
            print(f"soak: kept schema {schema} ({url}); logs in {tmp}")
        else:
            drop_schema(schema)
            if getattr(args, "keep_logs", False):
                print(f"soak: the servers' logs are in {tmp}")
            else:
                shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TuoyouError as exc:
        sys.exit(f"soak: {exc.zh} / {exc.en}")
