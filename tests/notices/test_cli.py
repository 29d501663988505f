"""`tuoyou notice list|render|verify` and `tuoyou report`, through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from app.cli_notices import notice_app, report
from tests.notices.conftest import World

runner = CliRunner()


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(notice_app, name="notice")
    app.command("report")(report)
    return app


@pytest.fixture
def env(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setenv("TUOYOU_SECRET_KEY", "cli-secret")
    return ["--db", str(world.engine.url)]


def test_list_render_verify(cli: typer.Typer, world: World, env: list[str], tmp_path: Path) -> None:
    a = world.notice("rectification_order")
    world.notice("filing_receipt")
    res = runner.invoke(cli, ["notice", "list", "--json", *env])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["number"] for r in rows] == [a.number, rows[1]["number"]]
    assert rows[0]["title"] == "整改通知书" and rows[0]["pdf_sha256"] == ""

    out = tmp_path / "out"
    res = runner.invoke(cli, ["notice", "render", a.number, "--out", str(out), "--json", *env])
    assert res.exit_code == 0, res.output
    rendered = json.loads(res.stdout)
    pdf = Path(rendered[0]["path"])
    assert pdf.exists() and pdf.parent == out.resolve()

    res = runner.invoke(cli, ["notice", "verify", str(pdf), *env])
    assert res.exit_code == 0 and "真实有效 / genuine" in res.stdout

    bad = tmp_path / "bad.pdf"
    data = bytearray(pdf.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    res = runner.invoke(cli, ["notice", "verify", str(bad), "--json", *env])
    assert res.exit_code == 1
    assert json.loads(res.stdout)["status"] == "altered"

    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"%PDF-1.7\n%%EOF\n")
    res = runner.invoke(cli, ["notice", "verify", str(junk), *env])
    assert res.exit_code == 3 and "damaged" in res.stdout

    other = tmp_path / "other.txt"
    other.write_bytes(b"just some text")
    res = runner.invoke(cli, ["notice", "verify", str(other), *env])
    assert res.exit_code == 2 and "unknown" in res.stdout


def test_render_errors(cli: typer.Typer, env: list[str], tmp_path: Path) -> None:
    res = runner.invoke(cli, ["notice", "render", "无此文号", "--out", str(tmp_path), *env])
    assert res.exit_code == 4 and "找不到文书" in res.output
    res = runner.invoke(cli, ["notice", "render", "--out", str(tmp_path), *env])
    assert res.exit_code == 2


def test_report_command(cli: typer.Typer, env: list[str], tmp_path: Path) -> None:
    out = tmp_path / "week.pdf"
    res = runner.invoke(cli, ["report", "--period", "week", "--out", str(out), "--json", *env])
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)
    assert Path(row["path"]) == out.resolve() and out.exists()
    assert row["period"]["kind"] == "week"
    res = runner.invoke(cli, ["report", "--period", "year", "--out", str(out), *env])
    assert res.exit_code == 2
