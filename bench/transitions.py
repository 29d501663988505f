"""Benchmark: N cases through a full lifecycle via the case service, against raw SQL doing the same
writes, on SQLite with the same settings (WAL, synchronous=FULL), in the same run.

    python bench/transitions.py [N]

Each case: open → start_review → order_rectification (notice) → request_reinspection →
propose_filing (reviewers notified) → approve (notice). The raw floor replays, with the sqlite3
module and the same transaction boundaries, the rows the service wrote, byte for byte (read back
untimed after each chunk): per transaction the same reads (the case with its point and township,
the duplicate check and township when opening, the people told), a SHA-256 over each event, and
the same INSERTs (point, case, event, inspection, notice counter and notice, outbox rows) and the
case UPDATE with its version. It leaves out only the work that decides those values. Both sides
run in alternating chunks so that disk and CPU noise falls on both alike; the run fails if the two
databases do not hold the same rows and bytes. Last line: `ratio: X`, service / raw, the median over
the chunk pairs (the ratio of the totals is printed above it).
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
import statistics
import tempfile
import time
from dataclasses import dataclass, field
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
    """A database made the same way (schema, users), driven through the sqlite3 module."""
    district = load_district(None)
    engine = make_engine(f"sqlite:///{path}")
    init_database(engine, district)
    with Session(engine) as s:  # the same users as the service's database, with the same ids
        add_user(s, name="insp", role="inspector", township_code=district.townships[0].code)
        add_user(s, name="rev", role="reviewer")
        add_user(s, name="rev2", role="reviewer")
    engine.dispose()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


Row = dict[str, Any]


@dataclass
class Recorded:
    """What the service wrote for one case, read back untimed: the floor writes these same rows."""

    point: Row
    township_code: str
    case: Row
    events: list[Row]
    inspections: dict[int, Row] = field(default_factory=dict)  # by event seq
    notices: dict[int, Row] = field(default_factory=dict)
    messages: dict[int, list[Row]] = field(default_factory=dict)


def _rows(db: sqlite3.Connection, sql: str, *args: object) -> list[Row]:
    cur = db.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def record(path: Path, first_case: int, n: int) -> list[Recorded]:
    """The rows the service wrote for cases first_case .. first_case + n - 1, as stored (same bytes)."""
    db = sqlite3.connect(path)
    out = []
    for case_id in range(first_case, first_case + n):
        case = _rows(db, 'SELECT * FROM "case" WHERE id = ?', case_id)[0]
        point = _rows(db, "SELECT * FROM point WHERE id = ?", case["point_id"])[0]
        events = _rows(db, "SELECT * FROM case_event WHERE case_id = ? ORDER BY seq", case_id)
        code = db.execute("SELECT code FROM township WHERE id = ?", (point["township_id"],)).fetchone()[0]
        rec = Recorded(point, code, case, events)
        inspections = iter(_rows(db, "SELECT * FROM inspection WHERE case_id = ? ORDER BY id", case_id))
        for ev in events:
            if '"inspection"' in ev["data"]:
                rec.inspections[ev["seq"]] = next(inspections)
        for notice in _rows(db, "SELECT n.*, e.seq AS _seq FROM notice n JOIN case_event e ON e.id = n.event_id"
                                 " WHERE n.case_id = ?", case_id):
            rec.notices[notice.pop("_seq")] = notice
        for msg in _rows(db, "SELECT * FROM message WHERE case_id = ? ORDER BY id", case_id):
            rec.messages.setdefault(int(msg["dedupe_key"].split(":")[2]), []).append(msg)
        out.append(rec)
    db.close()
    return out


def _insert(db: sqlite3.Connection, table: str, row: Row) -> sqlite3.Cursor:
    cols = ", ".join(f'"{k}"' for k in row)
    marks = ", ".join("?" * len(row))
    return db.execute(f'INSERT INTO "{table}" ({cols}) VALUES ({marks})', tuple(row.values()))


def _insert_many(db: sqlite3.Connection, table: str, rows: list[Row]) -> None:
    cols = ", ".join(f'"{k}"' for k in rows[0])
    marks = ", ".join(["(" + ", ".join("?" * len(rows[0])) + ")"] * len(rows))
    db.execute(f'INSERT INTO "{table}" ({cols}) VALUES {marks} ON CONFLICT (dedupe_key) DO NOTHING',
               tuple(v for r in rows for v in r.values()))


def _without(row: Row, *keys: str) -> Row:
    return {k: v for k, v in row.items() if k not in keys}


LOAD = ("SELECT c.*, p.*, t.code, t.name FROM \"case\" c JOIN point p ON p.id = c.point_id"
        " JOIN township t ON t.id = p.township_id WHERE c.id = ?")
UPDATE = ("UPDATE \"case\" SET state = ?, version = ?, round = ?, deadline = ?, deadline_kind = ?,"
          " deadline_set_on = ?, last_seq = ?, last_hash = ?, updated_at = ? WHERE id = ? AND version = ?")


def run_raw(db: sqlite3.Connection, recorded: list[Recorded]) -> float:
    """The service's writes for these cases, row for row and byte for byte, as plain SQL.

    Per transaction: the same reads (the case with its point and township; the duplicate check and
    the township when opening; the people told), each hash computed over the event, and the same
    INSERTs and UPDATE; only what the service computes to get these values is left out.
    """
    t0 = time.perf_counter()
    for rec in recorded:
        first = rec.events[0]
        db.execute("BEGIN")
        db.execute("SELECT id, code, name FROM township WHERE code = ?", (rec.township_code,)).fetchone()
        match = ("SELECT c.id, p.id, p.name, p.address, p.operator, t.name, c.state, p.place_key, p.contact_key"
                 " FROM point p JOIN \"case\" c ON c.point_id = p.id JOIN township t ON t.id = p.township_id"
                 " WHERE p.place_key = ?")
        if rec.point["contact_key"]:  # as the service: the contact key only when there is one
            db.execute(match + " OR p.contact_key = ?", (rec.point["place_key"], rec.point["contact_key"])).fetchall()
        else:
            db.execute(match, (rec.point["place_key"],)).fetchall()
        point_id = _insert(db, "point", _without(rec.point, "id")).lastrowid
        case_row = {**_without(rec.case, "id"), "point_id": point_id, "state": first["to_state"], "version": 1,
                    "round": 0, "deadline": None, "deadline_kind": None, "last_seq": 0, "last_hash": ""}
        case_id = _insert(db, "case", case_row).lastrowid
        _hash({k: v for k, v in first.items() if k != "id"})
        _insert(db, "case_event", {**_without(first, "id"), "case_id": case_id})
        db.execute('UPDATE "case" SET last_seq = 1, last_hash = ?, version = 2 WHERE id = ? AND version = 1',
                   (first["hash"], case_id))
        db.execute("COMMIT")
        version = 2
        for ev in rec.events[1:]:
            seq = ev["seq"]
            db.execute("BEGIN")
            row = db.execute(LOAD, (case_id,)).fetchone()
            assert row[5] == version
            if seq in rec.inspections:
                _insert(db, "inspection", {**_without(rec.inspections[seq], "id"), "case_id": case_id})
            notice = rec.notices.get(seq)
            if notice:
                db.execute("INSERT INTO notice_counter (district, kind, series, year, last) VALUES (?, ?, ?, ?, 1)"
                           " ON CONFLICT (district, kind, series, year) DO UPDATE SET last = last + 1 RETURNING last",
                           (notice["district"], notice["kind"], notice["series"], notice["year"])).fetchone()
            _hash({k: v for k, v in ev.items() if k != "id"})
            event_id = _insert(db, "case_event", {**_without(ev, "id"), "case_id": case_id}).lastrowid
            if notice:
                _insert(db, "notice", {**_without(notice, "id"), "case_id": case_id, "event_id": event_id})
            data = json.loads(ev["data"]).get("snap", {})
            db.execute(UPDATE, (ev["to_state"], version + 1, data.get("round", 0), data.get("deadline"),
                                data.get("deadline_kind"), rec.case["deadline_set_on"], seq, ev["hash"], ev["at"],
                                case_id, version))
            if ev["trigger"] in ("propose_filing", "approve"):
                db.execute("SELECT id, name, email, role, township_id FROM app_user WHERE role IN (?) AND active = 1",
                           ("reviewer" if ev["trigger"] != "approve" else "inspector",)).fetchall()
            if seq in rec.messages:
                _insert_many(db, "message", [{**_without(m, "id"), "case_id": case_id,
                                              "dedupe_key": m["dedupe_key"].replace(f":{rec.case['id']}:",
                                                                                    f":{case_id}:", 1)}
                                             for m in rec.messages[seq]])
            db.execute("COMMIT")
            version += 1
    return time.perf_counter() - t0


def written_bytes(path: Path) -> tuple[int, int]:
    """Rows and bytes of the rows a run wrote (every table the transitions write), to compare both sides."""
    db = sqlite3.connect(path)
    rows = size = 0
    for table in ("point", "case", "case_event", "inspection", "notice", "message"):
        cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")') if r[1] not in ("id", "point_id",
                                                                                          "case_id", "event_id")]
        total = " + ".join(f'coalesce(length(CAST("{c}" AS BLOB)), 0)' for c in cols)
        r, b = db.execute(f'SELECT count(*), coalesce(sum({total}), 0) FROM "{table}"').fetchone()
        rows, size = rows + r, size + b
    db.close()
    return rows, size


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    txns = n * (1 + len(STEPS))
    rounds = 40  # alternate in small chunks, so that disk and CPU noise falls on both sides alike
    chunk = max(1, n // rounds)
    svc = raw = 0.0
    pairs: list[float] = []  # service / raw for each chunk, both sides run back to back
    with tempfile.TemporaryDirectory() as tmp:
        db = setup_raw(Path(tmp) / "raw.db")
        service = setup_service(Path(tmp) / "service.db")
        for first in range(0, n, chunk):
            size = min(chunk, n - first)
            s = run_service(service, first, size)
            recorded = record(Path(tmp) / "service.db", first + 1, size)  # untimed
            r = run_raw(db, recorded)
            svc, raw = svc + s, raw + r
            pairs.append(s / r)
        db.close()
        service[1].dispose()
        written = [written_bytes(Path(tmp) / name) for name in ("service.db", "raw.db")]
    print(f"cases: {n}, transactions each way: {txns} (SQLite, WAL, synchronous=FULL)")
    print(f"rows and bytes written: service {written[0]}, raw SQL {written[1]}")
    if written[0] != written[1]:
        sys.exit("the floor did not write what the service wrote")
    print(f"service: {svc:.2f} s  ({txns / svc:,.0f} transactions/s, {svc / txns * 1e3:.2f} ms each)")
    print(f"raw SQL: {raw:.2f} s  ({txns / raw:,.0f} transactions/s, {raw / txns * 1e3:.2f} ms each)")
    print(f"ratio of the totals: {svc / raw:.2f}; of the {len(pairs)} chunk pairs: min {min(pairs):.2f},"
          f" max {max(pairs):.2f}")
    # the median pair: a burst of disk or CPU noise from elsewhere spoils one pair, not the figure
    print(f"ratio: {statistics.median(pairs):.2f}")


if __name__ == "__main__":
    main()


