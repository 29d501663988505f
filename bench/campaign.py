"""Benchmark: registry import of 10,000 rows and the 整治台账 export of 100,000 cases.

Import: writes a workbook of `--rows` points with openpyxl, then times
`cases.registry_import.import_registry` (read with calamine, every row checked, duplicates
looked up, one case a row opened through `cases.service.open_case`, a transaction per chunk),
split into reading+checking and opening. The floor is the least work that stores the same
rows: points, cases and opening events inserted with plain executemany in one transaction,
measured in the same run on the same database kind. Prints `import ratio: X` = import ÷ floor.

Ledger: fills `--cases` cases fast (bulk executemany, with an inspection and a notice for a
third of them) and times `cases.ledger.write_ledger` against a floor of openpyxl's write-only
mode writing the same number of rows of constant values. Prints `ledger ratio: X` and the peak
memory grew by during the export (fill first, so the
export's own growth shows).

    .venv/bin/python bench/campaign.py [--rows 10000] [--cases 100000] [--db sqlite|URL]
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cases.bootstrap import init_database
from cases.config import District, load_district
from cases.db import make_engine
from cases.ledger import LedgerFilter, write_ledger
from cases.models import Case, CaseEvent, Inspection, Notice, Point, Township
from cases.registry_import import check_registry, open_points
from cases.users import add_user

_LOGGER = logging.getLogger(__name__)

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 24)
HEADERS = ("托幼点名称", "镇街", "地址", "举办者", "联系电话", "首次登记日期")


def workbook(district: District, n: int, rng: random.Random) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("名册")
    ws.append(list(HEADERS))
    towns = [t.name for t in district.townships]
    for i in range(n):
        day = date(2018 + i % 5, 1 + i % 12, 1 + i % 28)
        registered: object = day if i % 3 else f"{day.year}年{day.month}月{day.day}日"
        phone = f"139{rng.randrange(10**8):08d}"
        ws.append([f"第{i}号托幼点", towns[i % len(towns)], f"某村{i}号", f"举办者{i}", phone, registered])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def fresh(url: str, district: District) -> Engine:
    if url == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-campaign-')}/bench.db"
        eng = make_engine(url)
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        eng = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    init_database(eng, district)
    return eng


def floor_insert(engine: Engine, district: District, n: int) -> float:
    """Points, cases and opening events with plain executemany in one transaction."""
    with engine.begin() as conn:
        town = conn.execute(sa.select(Township.__table__.c.id)).scalars().first()  # type: ignore[attr-defined]
    start = time.perf_counter()
    with engine.begin() as conn:
        pid0 = conn.execute(sa.select(sa.func.coalesce(sa.func.max(Point.__table__.c.id), 0))).scalar_one()  # type: ignore[attr-defined]
        cid0 = conn.execute(sa.select(sa.func.coalesce(sa.func.max(Case.__table__.c.id), 0))).scalar_one()  # type: ignore[attr-defined]
        conn.execute(Point.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": pid0 + i + 1, "name": f"floor{i}", "township_id": town, "address": f"地址{i}", "operator": "某",
             "phone": "", "registered_on": date(2020, 1, 1), "source": "registry", "created_at": NOW}
            for i in range(n)])
        conn.execute(Case.__table__.insert(), [  # type: ignore[attr-defined]
            {"id": cid0 + i + 1, "point_id": pid0 + i + 1, "township_id": town, "state": "registered", "version": 2,
             "round": 0, "escalation_level": 0, "return_stack": "", "proposal_reason": "", "target": "",
             "registered_on": date(2020, 1, 1), "last_seq": 1, "last_hash": "0" * 64, "opened_at": NOW,
             "updated_at": NOW} for i in range(n)])
        conn.execute(CaseEvent.__table__.insert(), [  # type: ignore[attr-defined]
            {"case_id": cid0 + i + 1, "seq": 1, "at": NOW, "actor": "bench", "role": "admin", "trigger": "open",
             "from_state": "", "to_state": "registered", "reason": "", "evidence": [], "notice_number": "",
             "data": {}, "prev_hash": "", "hash": "0" * 64} for i in range(n)])
    return time.perf_counter() - start


def bench_import(url: str, district: District, rows: int) -> None:
    rng = random.Random(11)
    t0 = time.perf_counter()
    data = workbook(district, rows, rng)
    print(f"workbook of {rows} rows written in {time.perf_counter() - t0:.2f} s ({len(data) // 1024} KiB)")
    eng = fresh(url, district)
    with Session(eng, expire_on_commit=False) as s:
        actor = add_user(s, name="bench-reviewer", role="reviewer")
        t0 = time.perf_counter()
        check = check_registry(s, data, actor=actor, today=TODAY)
        t_check = time.perf_counter() - t0
        s.rollback()
        t0 = time.perf_counter()
        result = open_points(s, district, check, actor=actor, now=NOW)
        t_open = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = check_registry(s, data, actor=actor, today=TODAY)
        t_again = time.perf_counter() - t0
    assert result.imported == rows and len(again.duplicates) == rows and not again.new
    total = t_check + t_open
    floor = floor_insert(eng, district, rows)
    eng.dispose()
    print(f"import {rows} rows: read+check {t_check:.2f} s, open cases {t_open:.2f} s, total {total:.2f} s "
          f"({rows / total:.0f} rows/s); the same file again: {t_again:.2f} s, 0 added")
    print(f"floor (plain executemany of the same rows): {floor:.2f} s")
    print(f"import ratio: {total / floor:.1f}")


def fill_cases(engine: Engine, district: District, n: int) -> None:
    rng = random.Random(7)
    states = ["registered", "under_review", "rectifying", "reinspecting", "overdue", "filed", "closed", "banned"]
    with engine.begin() as conn:
        towns = conn.execute(sa.select(Township.__table__.c.id)).scalars().all()  # type: ignore[attr-defined]
        step = 20_000
        for lo in range(0, n, step):
            ids = range(lo + 1, min(n, lo + step) + 1)
            conn.execute(Point.__table__.insert(), [  # type: ignore[attr-defined]
                {"id": i, "name": f"第{i}号托幼点", "township_id": towns[i % len(towns)], "address": f"某村{i}号",
                 "operator": f"举办者{i}", "phone": "13900000000", "registered_on": date(2020, 1, 1),
                 "source": "registry", "created_at": NOW} for i in ids])
            conn.execute(Case.__table__.insert(), [  # type: ignore[attr-defined]
                {"id": i, "point_id": i, "township_id": towns[i % len(towns)], "state": rng.choice(states),
                 "version": 2, "round": 1, "escalation_level": i % 4, "return_stack": "", "proposal_reason": "",
                 "target": "", "registered_on": date(2020, 1, 1), "last_seq": 1, "last_hash": "",
                 "deadline": date(2026, 12, 1 + i % 28), "opened_at": NOW, "updated_at": NOW} for i in ids])
            conn.execute(Inspection.__table__.insert(), [  # type: ignore[attr-defined]
                {"case_id": i, "trigger": "order_rectification", "round": 1, "at": NOW, "notes": {},
                 "results": {"F01": "fail", "P01": "major", "R01": "pass"}} for i in ids if i % 3 == 0])
            conn.execute(Notice.__table__.insert(), [  # type: ignore[attr-defined]
                {"number": f"武清教整〔2026〕{i}号", "district": "120114", "kind": "rectification_order", "year": 2026,
                 "seq": i, "case_id": i, "addressee": "x", "issuer": "y", "data": {}, "content_hash": "",
                 "verify_code": "", "pdf_sha256": "", "pdf_path": "", "issued_on": TODAY, "created_at": NOW}
                for i in ids if i % 3 == 0])


def bench_ledger(url: str, district: District, n: int) -> None:
    eng = fresh(url, district)
    t0 = time.perf_counter()
    fill_cases(eng, district, n)
    print(f"{n} cases filled in {time.perf_counter() - t0:.1f} s")
    with Session(eng, expire_on_commit=False) as s:
        viewer = add_user(s, name="bench-committee", role="committee")
        out = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        with open(out.name, "wb") as fh:
            written = write_ledger(s, district, fh, user=viewer, flt=LedgerFilter(), today=TODAY, now=NOW)
        t_ledger = time.perf_counter() - t0
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0  # KiB the peak grew by
    size = Path(out.name).stat().st_size
    Path(out.name).unlink()
    eng.dispose()
    assert written == n
    t0 = time.perf_counter()
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("floor")
    row = [1, "第1号托幼点", "梅厂镇", "某村1号", "举办者1", "13900000000", date(2020, 1, 1), "整改中", 1,
           date(2026, 12, 1), 5, "未督办", date(2026, 11, 24), "F01 消防安全", "武清教整〔2026〕1号", ""]
    for _ in range(n):
        ws.append(row)
    wb.save(io.BytesIO())
    floor = time.perf_counter() - t0
    print(f"ledger of {n} cases: {t_ledger:.2f} s ({n / t_ledger:.0f} rows/s), {size // 1024} KiB, "
          f"peak memory grew by {grown / 1024:.0f} MiB")
    print(f"floor (openpyxl write-only, constant rows): {floor:.2f} s")
    print(f"ledger ratio: {t_ledger / floor:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL (a fresh schema is used)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    district = load_district(None)
    if args.rows:
        bench_import(args.db, district, args.rows)
    if args.cases:
        bench_ledger(args.db, district, args.cases)


if __name__ == "__main__":
    main()
