"""`tuoyou import points|stats|template` and `tuoyou indicators` through the real Typer app."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from app.cli import app
from tests.workbooks import POINT_HEADERS, STAT_HEADERS, book

runner = CliRunner()


def run(*args: str, code: int = 0) -> Any:
    result = runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


@pytest.fixture
def db(db_url: str) -> str:
    run("init", "--db", db_url)
    run("user", "add", "insp", "--role", "inspector", "--township", "120114101", "--db", db_url)
    run("user", "add", "rev", "--role", "reviewer", "--db", db_url)
    return db_url


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_templates(tmp_path: Path) -> None:
    for kind, headers in (("points", POINT_HEADERS), ("stats", STAT_HEADERS)):
        out = tmp_path / f"{kind}.xlsx"
        run("import", "template", kind, "--out", str(out))
        ws = load_workbook(io.BytesIO(out.read_bytes())).worksheets[0]
        assert tuple(c.value for c in ws[1]) == headers
    result = run("import", "template", "cases", "--out", str(tmp_path / "x.xlsx"), code=2)
    assert "没有 cases 模板" in result.stderr and "points、stats" in result.stderr


def test_import_points_lists_bad_rows_and_exits_2(db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "名册.xlsx", book(POINT_HEADERS, [
        ["甲托幼点", "梅厂镇", "一号路", "张三", "", "2023/5/1"],
        ["乙托幼点", "梅厂镇", "二号路", "", "", "2023年5月1日"],
        ["丙托幼点", "火星镇", "三号路", "李四", "", "２０２３－０５－０１"],
    ]))
    result = run("import", "points", path, "--as", "rev", "--db", db, code=2)
    assert "第3行「举办者」：不能为空" in result.stderr and "row 3 [举办者]: must not be empty" in result.stderr
    assert "第4行「镇街」：本区没有镇街「火星镇」" in result.stderr
    assert "未导入任何数据" in result.stderr and "nothing was imported" in result.stderr
    assert json.loads(run("case", "list", "--json", "--db", db).stdout) == []
    refused = run("import", "points", path, "--as", "rev", "--db", db, "--json", code=2)
    assert [e["row"] for e in json.loads(refused.stdout)["errors"]] == [3, 4]

    done = run("import", "points", path, "--as", "rev", "--db", db, "--skip-invalid")
    assert "已导入 1 个托幼点并立案" in done.stdout and "第3行「举办者」" in done.stderr
    again = json.loads(run("import", "points", path, "--as", "rev", "--db", db, "--skip-invalid", "--json").stdout)
    assert again["imported"] == 0 and again["duplicates"] == 1 and again["skipped_rows"] == [3, 4]
    assert len(json.loads(run("case", "list", "--json", "--db", db).stdout)) == 1


def test_import_points_malformed_files(db: str, tmp_path: Path) -> None:
    csv = write(tmp_path, "名册.xlsx", "托幼点名称,镇街\n".encode())
    assert "不是 Excel .xlsx 文件" in run("import", "points", csv, "--as", "rev", "--db", db, code=2).stderr
    merged = write(tmp_path, "merged.xlsx", book(POINT_HEADERS, [["甲", "梅厂镇", "一号路", "张三", "", "2023-05-01"]],
                                                  merge="A1:B1"))
    assert "合并单元格 A1:B1" in run("import", "points", merged, "--as", "rev", "--db", db, code=2).stderr
    missing = run("import", "points", str(tmp_path / "nope.xlsx"), "--as", "rev", "--db", db, code=2)
    assert "找不到文件" in missing.stderr


def test_import_points_scope_and_role(db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "p.xlsx",
                 book(POINT_HEADERS, [["甲托幼点", "大碱厂镇", "一号路", "张三", "", "2023-05-01"]]))
    assert "不在您的辖区" in run("import", "points", path, "--as", "insp", "--db", db, code=2).stderr
    run("user", "add", "com", "--role", "committee", "--db", db)
    assert "可以导入托幼点名册" in run("import", "points", path, "--as", "com", "--db", db, code=3).stderr


def test_import_stats_and_indicators(db: str, tmp_path: Path) -> None:
    assert "尚无三率基础数据" in run("indicators", "--db", db).stdout
    bad = write(tmp_path, "bad.xlsx", book(STAT_HEADERS, [["梅厂镇", 2024, 1000, 950, 960, 0]]))
    result = run("import", "stats", bad, "--as", "rev", "--db", db, code=2)
    assert "第2行「公办园在园幼儿数」：公办园在园幼儿数 960 大于在园幼儿数 950" in result.stderr
    good = write(tmp_path, "good.xlsx", book(STAT_HEADERS, [["梅厂镇", 2024, 1000, 950, 520, 350],
                                                             ["120114102", 2024, 800, 700, 300, 200]]))
    assert "新增 2 条" in run("import", "stats", good, "--as", "rev", "--db", db).stdout
    assert "未变 2 条" in run("import", "stats", good, "--as", "rev", "--db", db).stdout
    assert run("import", "stats", good, "--as", "insp", "--db", db, code=3).stderr
    data = json.loads(run("indicators", "--json", "--db", db).stdout)
    assert data["year"] == 2024 and data["district"]["gross_enrolment"] == 91.7
    assert [t["name"] for t in data["townships"]] == ["梅厂镇", "大碱厂镇"]
    text = run("indicators", "--year", "2024", "--db", db).stdout
    assert "学前三年毛入园率" in text and "95.0% ✓" in text and "87.5% ✗" in text and "全区" in text
    assert "没有 2023 年" in run("indicators", "--year", "2023", "--db", db, code=2).stderr


def test_export_ledger(db: str, tmp_path: Path) -> None:
    path = write(tmp_path, "p.xlsx", book(POINT_HEADERS, [
        ["甲托幼点", "梅厂镇", "一号路", "张三", "", "2023-05-01"],
        ["乙托幼点", "大碱厂镇", "二号路", "李四", "", "2023-05-01"]]))
    run("import", "points", path, "--as", "rev", "--db", db)
    out = tmp_path / "台账.xlsx"
    assert "2 个案件" in run("export", "ledger", "--out", str(out), "--db", db).stdout
    ws = load_workbook(io.BytesIO(out.read_bytes())).worksheets[0]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["甲托幼点", "乙托幼点"]
    run("export", "ledger", "--out", str(out), "--as", "insp", "--db", db)
    ws = load_workbook(io.BytesIO(out.read_bytes())).worksheets[0]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["甲托幼点"]
    run("export", "ledger", "--out", str(out), "--township", "120114102", "--state", "registered", "--db", db)
    ws = load_workbook(io.BytesIO(out.read_bytes())).worksheets[0]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["乙托幼点"]
    bad = run("export", "ledger", "--out", str(tmp_path / "x.xlsx"), "--state", "nope", "--db", db, code=2)
    assert "没有名为 nope 的状态" in bad.stderr and not (tmp_path / "x.xlsx").exists()
    hidden = run("export", "ledger", "--out", str(tmp_path / "x.xlsx"), "--township", "120114102", "--as", "insp",
                 "--db", db, code=4)
    assert "不在您的辖区" in hidden.stderr
