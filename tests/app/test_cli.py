"""The command-line contract of DESIGN §7, through the real Typer app."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.cli import app
from cases.config import DISTRICTS_DIR

runner = CliRunner()


def run(*args: str, ok: bool = True) -> Any:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    if ok:
        assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def js(*args: str) -> Any:
    return json.loads(run(*args, "--json").stdout)


@pytest.fixture
def db(db_url: str) -> str:
    run("init", "--db", db_url)
    run("user", "add", "insp", "--role", "inspector", "--township", "120114101", "--db", db_url)
    run("user", "add", "insp2", "--role", "inspector", "--township", "120114102", "--db", db_url)
    run("user", "add", "rev", "--role", "reviewer", "--db", db_url)
    run("user", "add", "rev2", "--role", "reviewer", "--db", db_url)
    return db_url


_HOUSE = itertools.count(8)


def _new_case(db: str, registered_on: str = "2022-03-01", address: str = "") -> int:
    address = address or f"梅厂镇前庄村{next(_HOUSE)}号"  # a different point each time (not a duplicate)
    out = js("point", "add", "--name", "小太阳托幼点", "--township", "120114101", "--address", address,
             "--operator", "李四", "--registered-on", registered_on, "--basis", "原备案台账第8号",
             "--as", "insp", "--db", db)
    return int(out["case_id"])


def test_lifecycle_from_the_command_line(db: str) -> None:
    cid = _new_case(db)
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    out = js("case", "do", str(cid), "order_rectification", "--fail", "F01", "--fail", "R01", "--as", "insp",
             "--db", db)
    assert out["to"] == "rectifying" and out["notices"] == [out["notices"][0]]
    assert out["notices"][0].startswith("武清教整〔")
    run("case", "do", str(cid), "request_reinspection", "--as", "insp", "--db", db)
    run("case", "do", str(cid), "propose_filing", "--as", "insp", "--db", db)
    out = js("case", "do", str(cid), "approve", "--as", "rev", "--db", db)
    assert out["to"] == "filed"
    show = js("case", "show", str(cid), "--db", db)
    assert show["state"] == "filed" and show["state_zh"] == "已备案"
    assert [e["trigger"] for e in show["timeline"]] == ["open", "start_review", "order_rectification",
                                                        "request_reinspection", "propose_filing", "approve"]
    assert js("case", "show", str(cid), "--as", "insp", "--db", db)["allowed"] == ["reopen"]
    listed = js("case", "list", "--state", "filed", "--db", db)
    assert [c["id"] for c in listed] == [cid]
    run("audit", "verify", "--db", db)


def test_refusals_exit_non_zero_bilingual_with_allowed_triggers(db: str) -> None:
    cid = _new_case(db)
    r = run("case", "do", str(cid), "approve", "--as", "rev", "--db", db, ok=False)
    assert r.exit_code == 3
    assert "错误" in r.stderr and "error:" in r.stderr and "allowed now" in r.stderr
    assert r.stdout == ""
    r = run("case", "do", str(cid), "propose_filing", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 3 and "start_review" in r.stderr and "propose_closure" in r.stderr
    r = run("case", "do", str(cid), "start_review", "--as", "insp2", "--db", db, ok=False)
    assert r.exit_code == 4 and "not found" in r.stderr  # another township's case is simply not found
    r = run("case", "do", "424242", "start_review", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 4
    r = run("case", "do", str(cid), "start_review", "--as", "nobody", "--db", db, ok=False)
    assert r.exit_code == 4 and "nobody" in r.stderr
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    r = run("case", "do", str(cid), "propose_refusal", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 3 and "须填写理由" in r.stderr and "reason is required" in r.stderr
    r = run("case", "do", str(cid), "order_rectification", "--fail", "ZZ9", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 2 and "ZZ9" in r.stderr
    show = js("case", "show", str(cid), "--db", db)
    r = run("case", "do", str(cid), "propose_closure", "--as", "insp", "--expect-version",
            str(show["version"] - 1), "--db", db, ok=False)
    assert r.exit_code == 5
    assert js("case", "show", str(cid), "--db", db)["version"] == show["version"]


def test_cutoff_guard_from_cli(db: str) -> None:
    cid = _new_case(db, registered_on="2024-01-10")
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    r = run("case", "do", str(cid), "propose_filing", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 3 and "不再备案" in r.stderr


def test_bad_dates_and_missing_options(db: str) -> None:
    r = run("point", "add", "--name", "x", "--township", "120114101", "--address", "a", "--operator", "o",
            "--registered-on", "2024-13-01", "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr
    r = run("point", "add", "--name", "x", "--township", "999", "--address", "a", "--operator", "o",
            "--as", "insp", "--db", db, ok=False)
    assert r.exit_code == 4
    r = run("case", "list", "--state", "nirvana", "--db", db, ok=False)
    assert r.exit_code == 2 and "registered" in r.stderr


def test_audit_verify_names_the_tampered_case(db: str) -> None:
    a, b = _new_case(db), _new_case(db)
    for c in (a, b):
        run("case", "do", str(c), "start_review", "--as", "insp", "--db", db)
    run("audit", "verify", "--db", db)
    eng = sa.create_engine(db.replace("postgresql://", "postgresql+psycopg://"))
    with eng.begin() as conn:
        conn.execute(sa.text("UPDATE case_event SET actor = 'mallory' WHERE case_id = :c AND seq = 1"), {"c": b})
    eng.dispose()
    r = run("audit", "verify", "--db", db, ok=False)
    assert r.exit_code != 0 and f"case {b}" in r.stderr and f"case {a}:" not in r.stderr
    run("audit", "verify", "--case", str(a), "--db", db)


def test_listing_commands_print_one_json_document(db: str) -> None:
    towns = js("township", "list", "--db", db)
    assert len(towns) == 24 and towns[0] == {"code": "120114101", "name": "梅厂镇"}
    items = js("checklist", "list", "--db", db)
    assert {"F01", "P01", "T02"} <= {i["code"] for i in items}
    assert any(i["major_capable"] for i in items) and not all(i["major_capable"] for i in items)
    users = js("user", "list", "--db", db)
    assert {"insp", "rev", "system"} <= {u["name"] for u in users}
    token = run("user", "token", "rev", "--db", db).stdout.strip()
    assert token.startswith("ty_") and len(token) > 30


def test_user_add_errors(db: str) -> None:
    r = run("user", "add", "x", "--role", "wizard", "--db", db, ok=False)
    assert r.exit_code == 2 and "inspector" in r.stderr
    r = run("user", "add", "y", "--role", "inspector", "--db", db, ok=False)
    assert r.exit_code == 2 and "--township" in r.stderr
    r = run("user", "add", "insp", "--role", "reviewer", "--db", db, ok=False)
    assert r.exit_code == 2 and "已存在" in r.stderr


def test_workflow_show() -> None:
    table = run("workflow", "show").stdout
    assert "order_rectification" in table and "逾期未整改" in table
    mermaid = run("workflow", "show", "--format", "mermaid").stdout
    assert mermaid.startswith("stateDiagram-v2") and "rectifying --> overdue: expire" in mermaid
    assert "apply" in run("workflow", "show", "--workflow", "designation").stdout
    assert run("workflow", "show", "--format", "pie", ok=False).exit_code == 2


@pytest.mark.parametrize("config", ["wuqing.toml", "shijingshan.toml"])
def test_both_sample_districts_demo(tmp_path: Path, config: str) -> None:
    db = f"sqlite:///{tmp_path / 'd.db'}"
    cfg = str(DISTRICTS_DIR / config)
    out = run("demo", "--points", "60", "--db", db, "--config", cfg).stdout
    assert "演示数据已生成" in out
    cases = js("case", "list", "--workflow", "rectification", "--db", db, "--config", cfg)
    assert len(cases) == 60
    estates = js("case", "list", "--workflow", "designation", "--db", db, "--config", cfg)
    assert estates and {c["workflow"] for c in estates} == {"designation"}
    assert js("complaint", "list", "--db", db, "--config", cfg)
    assert len({c["state"] for c in cases}) >= 10
    towns = js("township", "list", "--db", db, "--config", cfg)
    assert len(towns) == (24 if config == "wuqing.toml" else 9)
    run("audit", "verify", "--db", db, "--config", cfg)
    r = run("demo", "--points", "5", "--db", db, "--config", cfg, ok=False)
    assert r.exit_code != 0 and "已有演示数据" in r.stderr


def test_broken_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[district]\nname = 1\n", encoding="utf-8")
    r = run("township", "list", "--config", str(bad), "--db", f"sqlite:///{tmp_path / 'x.db'}", ok=False)
    assert r.exit_code == 2 and "区县配置文件" in r.stderr
    r = run("township", "list", "--config", str(tmp_path / "missing.toml"), ok=False)
    assert r.exit_code == 2


def test_uninitialised_database_is_a_clear_error(tmp_path: Path) -> None:
    r = run("case", "list", "--db", f"sqlite:///{tmp_path / 'empty.db'}", ok=False)
    assert r.exit_code == 6 and "tuoyou init" in r.stderr


def test_console_script_env_defaults(tmp_path: Path) -> None:
    """The installed `tuoyou` reads TUOYOU_DATABASE_URL and defaults to ./tuoyou.db."""
    exe = Path(sys.executable).with_name("tuoyou")
    env = {**os.environ, "TUOYOU_DATABASE_URL": f"sqlite:///{tmp_path / 'env.db'}"}
    subprocess.run([str(exe), "init"], check=True, env=env, capture_output=True, cwd=tmp_path)
    assert (tmp_path / "env.db").exists()
    env.pop("TUOYOU_DATABASE_URL")
    subprocess.run([str(exe), "init"], check=True, env=env, capture_output=True, cwd=tmp_path)
    assert (tmp_path / "tuoyou.db").exists()
    p = subprocess.run([str(exe), "township", "list", "--json"], env=env, capture_output=True, cwd=tmp_path,
                       text=True)
    assert p.returncode == 0 and json.loads(p.stdout)[0]["code"] == "120114101"
