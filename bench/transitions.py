"""Benchmark: N cases through a full lifecycle via the case service, against raw SQL doing the same
writes, on SQLite with the same settings (WAL, synchronous=FULL), in the same run.

    python bench/transitions.py [N]

Each case: open → start_review → order_rectification (notice) → request_reinspection →
propose_filing (reviewers notified) → approve (notice). The raw floor issues, per
transaction, the same reads and writes with the sqlite3 module: read the case, update it
with its version, insert the audit row (hash computed the same way), the inspection, the
notice counter and notice, and the outbox rows. Last line: `ratio: X` (service / raw).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# This script's own name would shadow the `transitions` library: take its folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import hashlib
import json
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime

from sqlmodel import Session

from cases.bootstrap import init_database
from cases.config import load_district
from cases.db import make_engine
from cases.service import Action, advance, open_case
from cases.users import add_user

STEPS: list[tuple[str, dict[str, object]]] = [
    ("start_review", {}),
    ("order_rectification", {"failed": ("R01", "F02")}),
    ("request_reinspection", {}),
    ("propose_filing", {}),
    ("approve", {}),
]


def setup_service(path: Path) -> tuple[Any, ...]:
    district = load_district(None)
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine, district)
    with Session(engine, expire_on_commit=False) as s:
        insp = add_user(s, name="insp", role="inspector", township_code=district.townships[0].code)
        rev = add_user(s, name="rev", role="reviewer")
        add_user(s, name="rev2", role="reviewer")
    return district, engine, insp, rev


def run_service(setup: tuple[Any, ...], first: int, n: int) -> float:
    district, engine, insp, rev = setup
    now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    t0 = time.perf_counter()
    with Session(engine, expire_on_commit=False) as s:
        for i in range(first, first + n):
            case = open_case(session=s, district=district, actor=insp, name=f"托幼点{i}",
                             township_code=district.townships[0].code, address=f"某村{i}号", operator="张三",
                             registered_on=date(2022, 1, 1), now=now, basis="原备案台账")
            assert case.id is not None
            for trigger, kw in STEPS:
                actor = rev if trigger == "approve" else insp
                advance(session=s, district=district, case_id=case.id, actor=actor,
                        action=Action(trigger, **kw), now=now)  # type: ignore[arg-type]
    return time.perf_counter() - t0


def _hash(content: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(content, ensure_ascii=False, sort_keys=True,
                                     separators=(",", ":")).encode()).hexdigest()


def setup_raw(path: Path) -> sqlite3.Connection:
    """A database made the same way, driven through the sqlite3 module."""
    district = load_district(None)
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine, district)
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("INSERT INTO app_user (name, display_name, role, township_id, email, password_hash, token_hash,"
               " active, failed_logins, created_at) VALUES ('insp','insp','inspector',1,'','','',1,0,'2026-11-02'),"
               " ('rev','rev','reviewer',NULL,'','','',1,0,'2026-11-02'),"
               " ('rev2','rev2','reviewer',NULL,'','','',1,0,'2026-11-02')")
    return db


def run_raw(db: sqlite3.Connection, first: int, n: int) -> float:
    """The same writes as the service, as plain SQL."""
    now = "2026-11-02 02:00:00.000000"
    checklist = [c.code for c in load_district(None).checklist]
    t0 = time.perf_counter()
    for i in range(first, first + n):
        db.execute("BEGIN")
        cur = db.execute("INSERT INTO point (name, township_id, address, operator, phone, registered_on, source,"
                         " created_at) VALUES (?, 1, '某村1号', '张三', '', '2022-01-01', 'registry', ?)",
                         (f"托幼点{i}", now))
        point_id = cur.lastrowid
        cur = db.execute(
            "INSERT INTO \"case\" (point_id, township_id, workflow, state, version, round, escalation_level,"
            " return_stack, proposal_reason, target, registered_on, last_seq, last_hash, opened_at, updated_at)"
            " VALUES (?, 1, 'rectification', 'registered', 1, 0, 0, '', '', '', '2022-01-01', 0, '', ?, ?)",
            (point_id, now, now))
        case_id = cur.lastrowid
        h = _hash({"case": case_id, "seq": 1, "trigger": "open", "prev": "0" * 64})
        db.execute("INSERT INTO case_event (case_id, seq, at, actor_id, actor, role, trigger, from_state, to_state,"
                   " reason, evidence, notice_number, data, prev_hash, hash) VALUES (?, 1, ?, 1, 'insp',"
                   " 'inspector', 'open', '', 'registered', '', '[]', '', '{}', ?, ?)",
                   (case_id, now, "0" * 64, h))
        db.execute("UPDATE \"case\" SET last_seq = 1, last_hash = ?, version = 2 WHERE id = ? AND version = 1",
                   (h, case_id))
        db.execute("COMMIT")
        prev, seq, version = h, 1, 2
        state = "registered"
        for trigger, _kw in STEPS:
            db.execute("BEGIN")
            row = db.execute("SELECT id, state, version, round, deadline, last_seq, last_hash FROM \"case\""
                             " WHERE id = ?", (case_id,)).fetchone()
            assert row[1] == state and row[2] == version
            db.execute("SELECT id, name FROM point WHERE id = ?", (point_id,)).fetchone()
            dest = {"start_review": "under_review", "order_rectification": "rectifying",
                    "request_reinspection": "reinspecting", "propose_filing": "filing_proposed",
                    "approve": "filed"}[trigger]
            seq += 1
            notice = ""
            if trigger in ("order_rectification", "propose_filing"):
                results = json.dumps({c: "pass" for c in checklist})
                db.execute("INSERT INTO inspection (case_id, inspector_id, trigger, round, results, notes, at)"
                           " VALUES (?, 1, ?, 1, ?, '{}', ?)", (case_id, trigger, results, now))
            if trigger in ("order_rectification", "approve"):
                kind = "rectification_order" if trigger == "order_rectification" else "filing_receipt"
                last = db.execute("INSERT INTO notice_counter (district, kind, year, last) VALUES ('120114', ?,"
                                  " 2026, 1) ON CONFLICT (district, kind, series, year) DO UPDATE SET last = last + 1"
                                  " RETURNING last", (kind,)).fetchone()[0]
                notice = f"{kind}〔2026〕{last}号"
                db.execute("INSERT INTO notice (number, district, kind, year, seq, case_id, addressee, issuer, data,"
                           " content_hash, verify_code, pdf_sha256, pdf_path, issued_on, created_at) VALUES"
                           " (?, '120114', ?, 2026, ?, ?, '托幼点', '教育局', ?, '', '', '', '', '2026-11-02', ?)",
                           (notice, kind, last, case_id, json.dumps({"items": checklist}, ensure_ascii=False), now))
            h = _hash({"case": case_id, "seq": seq, "trigger": trigger, "prev": prev, "notice": notice})
            db.execute("INSERT INTO case_event (case_id, seq, at, actor_id, actor, role, trigger, from_state,"
                       " to_state, reason, evidence, notice_number, data, prev_hash, hash) VALUES (?, ?, ?, 1,"
                       " 'insp', 'inspector', ?, ?, ?, '', '[]', ?, '{}', ?, ?)",
                       (case_id, seq, now, trigger, state, dest, notice, prev, h))
            db.execute("UPDATE \"case\" SET state = ?, version = ?, round = 1, deadline = '2026-11-16',"
                       " last_seq = ?, last_hash = ?, updated_at = ? WHERE id = ? AND version = ?",
                       (dest, version + 1, seq, h, now, case_id, version))
            if trigger == "propose_filing":
                for uid in (2, 3):
                    db.execute("INSERT INTO message (dedupe_key, channel, user_id, case_id, recipient, subject,"
                               " body, status, attempts, last_error, created_at) VALUES (?, 'inbox', ?, ?, '',"
                               " '拟予备案', '请审核', 'unread', 0, '', ?) ON CONFLICT (dedupe_key) DO NOTHING",
                               (f"event:{case_id}:{seq}:inbox:{uid}", uid, case_id, now))
            if trigger == "approve":
                db.execute("SELECT id FROM app_user WHERE role = 'inspector' AND active = 1").fetchall()
            db.execute("COMMIT")
            prev, version, state = h, version + 1, dest
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    txns = n * (1 + len(STEPS))
    rounds = 10  # alternate in chunks, so that disk and CPU noise falls on both sides alike
    chunk = max(1, n // rounds)
    svc = raw = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        db = setup_raw(Path(tmp) / "raw.db")
        service = setup_service(Path(tmp) / "service.db")
        for first in range(0, n, chunk):
            size = min(chunk, n - first)
            raw += run_raw(db, first, size)
            svc += run_service(service, first, size)
        db.close()
        service[1].dispose()
    print(f"cases: {n}, transactions each way: {txns} (SQLite, WAL, synchronous=FULL)")
    print(f"service: {svc:.2f} s  ({txns / svc:,.0f} transactions/s, {svc / txns * 1e3:.2f} ms each)")
    print(f"raw SQL: {raw:.2f} s  ({txns / raw:,.0f} transactions/s, {raw / txns * 1e3:.2f} ms each)")
    print(f"ratio: {svc / raw:.2f}")


if __name__ == "__main__":
    main()


