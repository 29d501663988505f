"""`tuoyou audit verify` names the case and what differs; `tuoyou audit seal` prints the district seal."""

from __future__ import annotations

import json

import sqlalchemy as sa

from tests.app.test_cli import _new_case, db, js, run  # noqa: F401  (db is a fixture)


def test_verify_names_a_changed_case_row(db: str) -> None:  # noqa: F811
    cid = _new_case(db)
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    run("audit", "verify", "--db", db)
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        conn.execute(sa.text('UPDATE "case" SET state = \'banned\' WHERE id = :c'), {"c": cid})
    engine.dispose()
    r = run("audit", "verify", "--db", db, ok=False)
    assert r.exit_code == 7
    assert f"案件 {cid}" in r.stderr and "状态" in r.stderr and "banned" in r.stderr and "under_review" in r.stderr
    out = json.loads(run("audit", "verify", "--json", "--db", db, ok=False).stdout)
    assert out["intact"] is False and out["breaks"][0]["case_id"] == cid


def test_seal_and_check_a_printed_fingerprint(db: str) -> None:  # noqa: F811
    cid = _new_case(db)
    sealed = js("audit", "seal", "--db", db)
    assert sealed["seq"] == 1 and sealed["cases"] == 1 and len(sealed["fingerprint"]) == 19
    r = run("audit", "seal", "--db", db)
    assert "第 1 次封存" in r.stdout and sealed["fingerprint"] in r.stdout  # nothing moved: the same seal
    run("audit", "verify", "--seal", sealed["fingerprint"], "--db", db)
    r = run("audit", "verify", "--seal", "0000-0000-0000-0000", "--db", db, ok=False)
    assert r.exit_code == 7 and "封存指纹" in r.stderr
    # the case deleted with everything it had: the seal names it
    engine = sa.create_engine(db)
    with engine.begin() as conn:
        for table in ("case_event", "message"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE case_id = :c"), {"c": cid})
        conn.execute(sa.text('DELETE FROM "case" WHERE id = :c'), {"c": cid})
    engine.dispose()
    r = run("audit", "verify", "--db", db, ok=False)
    assert f"案件 {cid}" in r.stderr and "删除" in r.stderr
