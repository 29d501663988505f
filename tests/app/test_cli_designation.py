"""`tuoyou designation …` and `tuoyou complaint …` from the command line, refusals included."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.app.test_cli import js, run


@pytest.fixture
def db(db_url: str) -> str:
    run("init", "--db", db_url)
    for args in (("lead", "--role", "lead", "--township", "120114101"), ("rev", "--role", "reviewer"),
                 ("com", "--role", "committee"), ("insp", "--role", "inspector", "--township", "120114101"),
                 ("insp2", "--role", "inspector", "--township", "120114102")):
        run("user", "add", *args, "--db", db_url)
    return db_url


def _stats(tmp_path: Path, db: str, public: int) -> None:
    path = tmp_path / "stats.xlsx"
    run("import", "template", "stats", "--out", str(path))
    wb = openpyxl.load_workbook(path)
    wb.active.append(["120114101", 2025, 1200, 1000, public, 200])
    wb.save(path)
    run("import", "stats", str(path), "--as", "rev", "--db", db)


def test_designation_from_open_to_the_committee_reply(db: str, tmp_path: Path) -> None:
    opened = js("designation", "open", "--name", "梅厂家园配套幼儿园", "--township", "120114101", "--as", "lead",
                "--db", db)
    cid = str(opened["case_id"])
    assert (opened["workflow"], opened["state"], opened["allowed"]) == ("designation", "drafted",
                                                                        ["apply", "withdraw"])
    refused = run("case", "do", cid, "apply", "--target", "普惠性民办园", "--as", "lead", "--db", db, ok=False)
    assert refused.exit_code == 2 and "import stats" in refused.stderr and "公办园在园幼儿占比" in refused.stderr
    _stats(tmp_path, db, public=450)
    refused = run("case", "do", cid, "apply", "--target", "普惠性民办园", "--as", "lead", "--db", db, ok=False)
    assert refused.exit_code == 3 and "不足50%" in refused.stderr
    assert js("case", "do", cid, "apply", "--target", "公办园", "--as", "lead", "--db", db)["to"] == "applied"
    assert js("case", "do", cid, "review", "--as", "rev", "--db", db)["to"] == "bureau_reviewed"
    out = js("case", "do", cid, "approve", "--as", "com", "--db", db)
    assert out["to"] == "designated" and out["notices"][0].startswith("武清学前委批〔")
    show = js("case", "show", cid, "--db", db)
    assert (show["workflow"], show["workflow_version"], show["state_zh"]) == ("designation", 1, "专项工作委员会已批准")
    listed = js("case", "list", "--state", "designated", "--db", db)
    assert [r["id"] for r in listed] == [int(cid)] and listed[0]["workflow"] == "designation"
    assert run("audit", "verify", "--db", db).exit_code == 0


def test_designation_open_refusals(db: str) -> None:
    r = run("designation", "open", "--name", "x", "--township", "120114101", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 3 and "镇街负责人" in r.stderr
    r = run("designation", "open", "--name", "x", "--township", "120114102", "--as", "lead", "--db", db, ok=False)
    assert r.exit_code == 4
    r = run("designation", "open", "--name", " ", "--township", "120114101", "--as", "lead", "--db", db, ok=False)
    assert r.exit_code == 2 and "名称" in r.stderr


def test_complaints_from_the_command_line(db: str) -> None:
    point = js("point", "add", "--name", "小太阳托幼点", "--township", "120114101", "--address", "梅厂镇前庄村8号",
               "--operator", "李四", "--as", "insp", "--db", db)
    cid = str(point["case_id"])
    show = js("case", "show", cid, "--db", db)
    added = js("complaint", "add", "--number", "GD20261124001", "--point", str(show["point"]["id"]), "--summary",
               "超员", "--as", "insp", "--db", db)
    assert (added["case_id"], added["outcome"]) == (int(cid), "recorded")
    again = run("complaint", "add", "--number", "GD20261124001", "--point", str(show["point"]["id"]), "--as", "insp",
                "--db", db, ok=False)
    assert again.exit_code == 5 and "已于" in again.stderr
    both = run("complaint", "add", "--number", "GD2", "--point", "1", "--name", "x", "--as", "insp", "--db", db,
               ok=False)
    assert both.exit_code == 2
    other = run("complaint", "add", "--number", "GD3", "--point", str(show["point"]["id"]), "--as", "insp2",
                "--db", db, ok=False)
    assert other.exit_code == 4
    rows: list[dict[str, Any]] = js("complaint", "list", "--db", db)
    assert [(r["number"], r["status"]) for r in rows] == [("GD20261124001", "open")]
    replied = js("complaint", "reply", "GD20261124001", "--text", "已核查，责令整改", "--as", "insp", "--db", db)
    assert replied["status"] == "replied"
    assert js("complaint", "list", "--status", "open", "--db", db) == []
    table = run("complaint", "list", "--db", db).stdout
    assert "GD20261124001" in table and "已答复" in table
    assert json.loads(run("complaint", "list", "--as", "insp2", "--json", "--db", db).stdout) == []
