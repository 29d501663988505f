"""`point add --basis/--force` and strict dates on the command line (DESIGN §7, second release)."""

from __future__ import annotations

from datetime import date, timedelta

from tests.app.test_cli import db, js, run  # noqa: F401  (the `db` fixture)

ADD = ("point", "add", "--township", "120114101", "--operator", "李四", "--as", "insp")


def test_a_pre_cutoff_date_needs_basis(db: str) -> None:  # noqa: F811
    r = run(*ADD, "--name", "甲", "--address", "一村1号", "--registered-on", "2023-01-05", "--db", db, ok=False)
    assert r.exit_code == 2 and "须注明登记依据" in r.stderr and "--basis" in r.stderr
    out = js(*ADD, "--name", "甲", "--address", "一村1号", "--registered-on", "2023-01-05",
             "--basis", "原备案台账第37号", "--db", db)
    shown = js("case", "show", str(out["case_id"]), "--db", db)
    assert shown["point"]["basis"] == "原备案台账第37号" and shown["point"]["entered_later"] is True


def test_strict_dates(db: str) -> None:  # noqa: F811
    for bad in ("20230105", "2023-1-5", "2023-W01-1"):
        r = run(*ADD, "--name", "乙", "--address", "二村2号", "--registered-on", bad, "--basis", "x",
                "--db", db, ok=False)
        assert r.exit_code == 2 and "YYYY-MM-DD" in r.stderr, bad


def test_duplicates_are_refused_unless_forced(db: str) -> None:  # noqa: F811
    first = js(*ADD, "--name", "阳光托幼点", "--address", "福源道18号", "--phone", "13800000001", "--db", db)
    r = run(*ADD, "--name", "阳光 托幼点", "--address", "福源道１８号", "--db", db, ok=False)
    assert r.exit_code != 0 and f"案件 #{first['case_id']}" in r.stderr and "--force" in r.stderr
    assert len(js("case", "list", "--db", db)) == 1
    forced = js(*ADD, "--name", "阳光 托幼点", "--address", "福源道１８号", "--force", "--db", db)
    assert forced["links"][0]["case_id"] == first["case_id"] and forced["links"][0]["kind"] == "duplicate"
    r = run(*ADD, "--name", "别名", "--address", "别处", "--phone", "138 0000 0001", "--force", "--db", db)
    assert "注意" in r.stdout and f"案件 #{first['case_id']}" in r.stdout


def test_report_progress_from_the_command_line(db: str) -> None:  # noqa: F811
    run("user", "add", "lead1", "--role", "lead", "--township", "120114101", "--db", db)
    out = js(*ADD, "--name", "督办托幼点", "--address", "三村3号", "--db", db)
    cid = str(out["case_id"])
    r = run("case", "do", cid, "report_progress", "--as", "lead1", "--reason", "已整改", "--db", db, ok=False)
    assert r.exit_code != 0 and "未被督办" in r.stderr and "not under supervision" in r.stderr
    run("case", "do", cid, "start_review", "--as", "insp", "--db", db)
    run("case", "do", cid, "order_rectification", "--fail", "P02", "--as", "insp", "--db", db)
    deadline = js("case", "show", cid, "--db", db)["deadline"]
    # six weeks on: well past 10 working days overdue (挂牌督办), a clock `--now` takes without --allow-far-clock
    # (the year on it used was no date at all from a 29 February)
    late = date.fromisoformat(deadline) + timedelta(weeks=6)
    run("scheduler", "tick", "--now", f"{late.isoformat()}T10:00", "--no-deliver", "--db", db)
    shown = js("case", "show", cid, "--db", db)
    assert shown["escalation_level"] == 3 and "report_progress" not in shown["allowed"]  # as the operator
    done = js("case", "do", cid, "report_progress", "--as", "lead1", "--reason", "已责令停止招生", "--db", db)
    assert done["from"] == done["to"] == "overdue"
    timeline = js("case", "show", cid, "--db", db)["timeline"]
    assert timeline[-1]["trigger"] == "report_progress" and timeline[-1]["reason"] == "已责令停止招生"
