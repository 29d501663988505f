"""The CLI under bad input: clear errors and exit codes, never a traceback; user data printed literally."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.cli import app
from cases.config import DEMO_DISTRICT
from cases.db import make_engine

runner = CliRunner()
TOWN = "120114101"


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    return result


@pytest.fixture
def db(db_url: str) -> str:
    run("init", "--db", db_url)
    run("user", "add", "insp", "--role", "inspector", "--township", TOWN, "--db", db_url)
    return db_url


def _add(db: str, name: str = "小太阳托幼点", *extra: str, code: int = 0) -> Any:
    return run("point", "add", "--name", name, "--township", TOWN, "--address", "梅厂镇前庄村8号",
               "--operator", "李四", "--registered-on", "2022-03-01", "--basis", "原备案台账第8号",
               "--as", "insp", "--db", db, *extra, code=code)


def test_registered_on_must_be_yyyy_mm_dd(db: str) -> None:
    r = run("point", "add", "--name", "园", "--township", TOWN, "--address", "某地", "--operator", "某人",
            "--registered-on", "20260101", "--as", "insp", "--db", db, code=2)
    assert "YYYY-MM-DD" in r.stderr and "首次登记日期" in r.stderr
    assert json.loads(run("case", "list", "--json", "--db", db).stdout) == []


@pytest.mark.parametrize("name,word", [("园" * 131_000, "过长"), ("园\x00", "控制字符"), ("\u200b", "不能为空")])
def test_point_fields_have_the_same_limits_as_the_web(db: str, name: str, word: str) -> None:
    r = _add(db, name, code=2)
    assert word in r.stderr and "error:" in r.stderr
    assert json.loads(run("case", "list", "--json", "--db", db).stdout) == []


def test_case_ids_beyond_the_integer_range_are_not_found(db: str) -> None:
    for cid in ("9999999999", str(2**31), "0"):
        r = run("case", "show", cid, "--db", db, code=4)
        assert "不存在" in r.stderr
        r = run("case", "do", cid, "start_review", "--as", "insp", "--db", db, code=4)


def test_markup_in_names_is_shown_as_typed(db: str) -> None:
    names = ["幼儿园[/bold]", "[link=https://evil.example]建设银行[/link]托育", "[red]红[/red]:smile:"]
    ids = [json.loads(_add(db, n, "--json").stdout)["case_id"] for n in names]
    listed = run("case", "list", "--db", db).stdout
    for n in names:
        assert n in listed
    shown = run("case", "show", str(ids[1]), "--db", db).stdout
    assert names[1] in shown
    run("case", "do", str(ids[0]), "start_review", "--as", "insp", "--db", db)


def test_escape_sequences_already_stored_never_reach_the_terminal(db: str) -> None:
    cid = json.loads(_add(db, "旧数据托幼点", "--json").stdout)["case_id"]
    eng = make_engine(db)
    with eng.begin() as conn:  # data typed before the policy existed
        conn.execute(sa.text("update point set name = :n, address = :a"),
                     {"n": "旧\x1b[2J\x1b]0;pwned\x07数据[/bold]", "a": "某\x1b[31m地\x9b2J\u202e"})
    eng.dispose()
    for args in (("case", "list"), ("case", "show", str(cid))):
        out = run(*args, "--db", db).stdout
        assert "\x1b" not in out and "\x07" not in out
        assert "旧数据[/bold]" in out
    # JSON keeps the data as stored, every control character escaped
    raw = run("case", "show", str(cid), "--json", "--db", db).stdout
    assert not {"\x1b", "\x9b", "\u202e"} & set(raw)
    assert json.loads(raw)["point"]["address"] == "某\x1b[31m地\x9b2J\u202e"


def test_inbox_shows_subjects_literally(db: str) -> None:
    run("user", "add", "rev", "--role", "reviewer", "--db", db)
    cid = json.loads(_add(db, "托育[/bold][link=x]点", "--json").stdout)["case_id"]
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    run("case", "do", str(cid), "propose_closure", "--as", "insp", "--db", db)
    out = run("inbox", "--as", "rev", "--db", db).stdout
    assert "托育[/bold][link=x]点" in out


def test_a_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    for url in ("foo://", "not a url", "mysql+nodriver://x/y"):
        r = run("case", "list", "--db", url, code=2)
        assert "数据库 URL 无效" in r.stderr


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for args in (("case", "list"), ("user", "list"), ("scheduler", "tick"), ("audit", "verify")):
        r = run(*args, "--db", f"sqlite:///{missing}", code=6)
        assert "不存在" in r.stderr and "tuoyou init" in r.stderr
    assert not missing.exists()
    run("init", "--db", f"sqlite:///{missing}")
    assert missing.exists()


def test_an_uninitialised_file_says_so(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    r = run("case", "list", "--db", f"sqlite:///{empty}", code=6)
    assert "未初始化" in r.stderr


def test_the_clock_is_checked_first(db: str) -> None:
    r = run("scheduler", "tick", "--now", "2206-01-01", "--db", db, code=2)
    assert "--allow-far-clock" in r.stderr
    r = run("scheduler", "tick", "--now", "0001-01-01", "--db", db, code=2)
    assert "--now" in r.stderr
    r = run("scheduler", "tick", "--now", "2206-01-01", "--allow-far-clock", "--json", "--db", db)
    assert "warning" in r.stderr
    assert isinstance(json.loads(r.stdout), dict)


def test_a_clock_within_a_year_works_as_today(db: str) -> None:
    from datetime import date, timedelta

    soon = (date.today() + timedelta(days=300)).isoformat()
    r = run("scheduler", "tick", "--now", soon, "--db", db)
    assert "warning" not in r.stderr


def test_the_district_file_is_checked_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = run("init", "--config", str(tmp_path), "--db", url, code=2)
    assert "目录" in r.stderr
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(DEMO_DISTRICT.read_text(encoding="utf-8").encode("gbk", errors="replace"))
    r = run("init", "--config", str(gbk), "--db", url, code=2)
    assert "UTF-8" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text(DEMO_DISTRICT.read_text(encoding="utf-8").replace("reminders = [5, 3, 1]", "reminders = [-5, 0]"),
                   encoding="utf-8")
    r = run("init", "--config", str(bad), "--db", url, code=2)
    assert "ladder.reminders" in r.stderr
    assert not (tmp_path / "x.db").exists()


def test_init_warns_about_a_cutoff_in_the_future(tmp_path: Path) -> None:
    future = tmp_path / "future.toml"
    future.write_text(DEMO_DISTRICT.read_text(encoding="utf-8").replace("cutoff = 2023-06-30", "cutoff = 2999-06-30"),
                      encoding="utf-8")
    r = run("init", "--config", str(future), "--db", f"sqlite:///{tmp_path / 'x.db'}")
    assert "district.cutoff" in r.stderr and "warning" in r.stderr


def test_notice_deliver_follows_the_policy(db: str) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    run("user", "add", "rev", "--role", "reviewer", "--db", db)
    cid = json.loads(_add(db, "送达托幼点", "--json").stdout)["case_id"]
    run("case", "do", str(cid), "start_review", "--as", "insp", "--db", db)
    out = json.loads(run("case", "do", str(cid), "order_rectification", "--fail", "F01", "--as", "insp", "--json",
                         "--db", db).stdout)
    [number] = out["notices"]
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the district's today, not the machine's
    compact = today.strftime("%Y%m%d")
    for extra, word in ((["--on", compact], "YYYY-MM-DD"),
                        (["--on", today.isoformat(), "--recipient", "李\x00四"], "控制字符"),
                        (["--on", today.isoformat(), "--recipient", "李" * 101], "过长")):
        r = run("notice", "deliver", number, "--method", "direct", *extra, "--as", "insp", "--db", db, code=2)
        assert word in r.stderr
    r = run("notice", "deliver", "武清\x00教", "--method", "direct", "--on", today.isoformat(), "--as", "insp",
            "--db", db, code=4)
    assert "\x00" not in r.stderr


def test_complaint_list_prints_names_literally(db: str) -> None:
    cid = json.loads(_add(db, "投诉[/bold][link=https://x]托育点", "--json").stdout)["case_id"]
    point = json.loads(run("case", "show", str(cid), "--json", "--db", db).stdout)["point"]["id"]
    run("complaint", "add", "--number", "GD-1", "--point", str(point), "--as", "insp", "--db", db)
    out = run("complaint", "list", "--db", db).stdout
    assert "投诉[/bold][link=https://x]托育点" in out and "GD-1" in out and "\\[" not in out


def test_case_options_beyond_the_integer_range_are_not_found(db: str) -> None:
    for args in (("notice", "list", "--case"), ("audit", "verify", "--case"),
                 ("notice", "render", "--out", "x", "--case")):
        r = run(*args, "9999999999", "--db", db, code=4)
        assert "9999999999" in r.stderr and "不存在" in r.stderr


def test_bad_settings_are_a_clear_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["case", "list", "--db", f"sqlite:///{tmp_path / 'x.db'}"],
                      env={"TUOYOU_ENVIRONMENT": "production", "TUOYOU_SECRET_KEY": "dev-insecure-secret"})
    assert r.exit_code == 2 and "TUOYOU_SECRET_KEY" in r.stderr and "Traceback" not in r.stderr
