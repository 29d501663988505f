"""From the command line: a committee-issued 挂牌督办 carries the committee's 文号, renders and verifies as genuine."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from cases.config import load_district
from tests.app.test_cli import _new_case, db, js, run  # noqa: F401  (db is a fixture)


def test_the_committees_listed_supervision_is_numbered_rendered_and_verified(db: str, tmp_path: Path) -> None:  # noqa: F811
    info = load_district(None).district
    cid = _new_case(db)
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    order = js("case", "do", str(cid), "order_rectification", "--fail", "P02", "--as", "insp", "--db", db)
    deadline = date.fromisoformat(js("case", "show", str(cid), "--db", db)["deadline"])
    # the scheduler was down: one sweep weeks after the deadline takes only the top rung, the committee's
    late = deadline + timedelta(days=30)
    run("scheduler", "tick", "--now", f"{late.isoformat()}T10:00", "--db", db)
    listed = js("notice", "list", "--case", str(cid), "--db", db)
    assert [n["number"] for n in listed if n["kind"] == "rectification_order"] == order["notices"]
    [top] = [n for n in listed if n["kind"] in ("supervision_notice", "listed_supervision")]
    assert top["kind"] == "listed_supervision" and top["issuer"] == info.committee
    assert top["number"] == f"武清学前委挂督〔{late.year}〕1号"
    rendered = js("notice", "render", top["number"], "--out", str(tmp_path), "--db", db)
    pdf = Path(rendered[0]["path"])
    res = run("notice", "verify", str(pdf), "--db", db)
    assert top["number"] in res.stdout and "真实有效" in res.stdout
    run("audit", "verify", "--db", db)
