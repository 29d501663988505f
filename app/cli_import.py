"""The campaign's spreadsheet commands: `tuoyou import points|stats|template`, `export ledger`, `indicators`.

`import_app` and `export_app` are registered as `import` and `export`, and `indicators` as a
top-level command, by `app/cli.py`. An import that finds bad rows lists each on stderr
(Excel row number, column, what is wrong and what is allowed, Chinese and English) and exits 2.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from app.context import AsOpt, ConfigOpt, DbOpt, JsonOpt, ViewAsOpt, handle_errors, open_context, print_json, viewer
from app.output import bold, err, out  # user data printed literally, without control sequences
from cases.errors import InvalidInput
from cases.indicators import RATES, STAT_COLUMNS, import_stats, indicator_report
from cases.service import local_today
from cases.users import get_user
from cases.workbook import Column, ImportRefused, RowError, write_template

_LOGGER = logging.getLogger(__name__)

import_app = typer.Typer(help="从 Excel 导入 / import from Excel workbooks", no_args_is_help=True)
export_app = typer.Typer(help="导出 Excel / export Excel workbooks", no_args_is_help=True)


FileArg = Annotated[Path, typer.Argument(metavar="FILE.xlsx", help="Excel 工作簿 / workbook")]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid",
                                        help="只导入正确的行，列出跳过的行 / import the valid rows only")]

MAX_LISTED = 200  # bad rows printed one by one; the rest are counted


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"找不到文件 {path}", f"file not found: {path}") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} 是目录，不是文件", f"{path} is a directory") from None


def _print_row_errors(errors: list[RowError], *, heading_zh: str, heading_en: str) -> None:
    rows = sorted({e.row for e in errors})
    typer.echo(f"{heading_zh}（{len(rows)} 行）/ {heading_en} ({len(rows)} rows):", err=True)
    for e in errors[:MAX_LISTED]:
        typer.echo(f"  {e.zh}", err=True)
        typer.echo(f"    {e.en}", err=True)
    if len(errors) > MAX_LISTED:
        typer.echo(f"  ……另有 {len(errors) - MAX_LISTED} 处问题 / {len(errors) - MAX_LISTED} more problems", err=True)


def refused(exc: ImportRefused, json: bool) -> typer.Exit:
    """List every bad row, say nothing was written, exit 2."""
    if json:
        print_json({"imported": False, "total": exc.total, "errors": [e.as_dict() for e in exc.errors]})
    _print_row_errors(exc.errors, heading_zh="以下行有误", heading_en="invalid rows")
    typer.echo(f"错误：{exc.zh}\nerror: {exc.en}", err=True)
    return typer.Exit(exc.exit_code)


# -- templates ---------------------------------------------------------------------------------


def _templates() -> dict[str, tuple[tuple[Column, ...], str, list[str]]]:
    from cases.registry_import import POINT_COLUMNS

    return {
        "points": (POINT_COLUMNS, "托幼点名册", [
            "每行一个托幼点；第一行为表头，请勿修改或合并表头单元格。",
            "镇街可填编码或名称；首次登记日期可填日期格式或文字（如 2023-05-01、2023/5/1、2023年5月1日）。",
            "同名同址或同一举办者同一电话的托幼点视为重复，不会重复导入。",
        ]),
        "stats": (STAT_COLUMNS, "三率基础数据", [
            "每行一个镇街一个年份；同一镇街同一年份再次导入时以新数据为准。",
            "在园幼儿数须大于 0；公办园与普惠性民办园在园幼儿数之和不得大于在园幼儿数。",
        ]),
    }


@import_app.command("template")
@handle_errors
def template(
    kind: Annotated[str, typer.Argument(metavar="points|stats", help="模板种类 / which template")],
    out_file: Annotated[Path, typer.Option("--out", help="输出文件 .xlsx / output file")],
) -> None:
    """生成空白导入模板 / write an empty workbook with the import headers."""
    templates = _templates()
    if kind not in templates:
        raise InvalidInput(f"没有 {kind} 模板", f"no template named {kind}", allowed=list(templates))
    columns, sheet, notes = templates[kind]
    out_file.write_bytes(write_template(columns, sheet=sheet, notes=notes))
    typer.echo(f"已生成模板 {out_file}（{'、'.join(c.header for c in columns)}）/ template written")


# -- registry --------------------------------------------------------------------------------


@import_app.command("points")
@handle_errors
def points(
    file: FileArg,
    as_user: AsOpt,
    skip_invalid: SkipOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """导入托幼点名册并逐点立案 / import a registry of points and open a case for each."""
    from cases.registry_import import import_registry

    ctx = open_context(db, config)
    data = _read(file)
    now = datetime.now(UTC)
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        with Progress(TextColumn("导入托幼点 / importing points"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=err, transient=True, disable=json) as bar:
            task = bar.add_task("import", total=None)
            try:
                result = import_registry(
                    s, ctx.district, data, actor=actor, today=local_today(ctx.district, now), now=now,
                    skip_invalid=skip_invalid, source_name=file.name,
                    progress=lambda done, total: bar.update(task, completed=done, total=total))
            except ImportRefused as exc:
                raise refused(exc, json) from None
    if json:
        return print_json(result.as_dict())
    check = result.check
    if check.errors:
        _print_row_errors(check.errors, heading_zh="以下行有误，已跳过", heading_en="skipped invalid rows")
    if check.duplicates:
        typer.echo(f"疑似重复、未导入（{len(check.duplicates)} 行）/ likely duplicates, not imported:", err=True)
        for d in check.duplicates[:MAX_LISTED]:
            where = f"（托幼点 {d.point_id}）" if d.point_id else ""
            typer.echo(f"  第{d.point.row}行 {d.point.name}：{d.reason_zh}{where} / row {d.point.row}: {d.reason_en}",
                       err=True)
        if len(check.duplicates) > MAX_LISTED:
            typer.echo(f"  ……另有 {len(check.duplicates) - MAX_LISTED} 行 / more", err=True)
    span = f"，案件 {result.case_ids[0]}–{result.case_ids[-1]}" if result.case_ids else ""
    typer.echo(f"已导入 {result.imported} 个托幼点并立案{span}；疑似重复 {len(check.duplicates)} 行，"
               f"有误跳过 {len(check.bad_rows)} 行（共 {check.total} 行）/ {result.imported} points imported, "
               f"{len(check.duplicates)} duplicates, {len(check.bad_rows)} invalid rows skipped")


# -- ledger ----------------------------------------------------------------------------------


@export_app.command("ledger")
@handle_errors
def ledger(
    out_file: Annotated[Path, typer.Option("--out", help="输出文件 .xlsx / output file")],
    township: Annotated[str | None, typer.Option("--township", help="镇街编码 / township code")] = None,
    state: Annotated[str | None, typer.Option("--state", help="状态 / state")] = None,
    as_user: ViewAsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """导出整治台账（每案一行）/ export the 整治台账, one row a case."""
    from cases.ledger import LedgerFilter, write_ledger

    ctx = open_context(db, config)
    now = datetime.now(UTC)
    flt = LedgerFilter(township=township, state=state)
    tmp = out_file.with_name(out_file.name + ".part")
    with Session(ctx.engine, expire_on_commit=False) as s:
        who = viewer(s, as_user)
        with Progress(TextColumn("导出台账 / exporting"), MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      transient=True) as bar:
            task = bar.add_task("ledger", total=None)
            try:
                with tmp.open("wb") as fh:
                    n = write_ledger(s, ctx.district, fh, user=who, flt=flt, now=now,
                                     today=local_today(ctx.district, now),
                                     progress=lambda done: bar.update(task, completed=done))
                tmp.replace(out_file)
            finally:
                tmp.unlink(missing_ok=True)
    typer.echo(f"已导出整治台账 {out_file}：{n} 个案件 / ledger written: {n} cases")


# -- stats and indicators ----------------------------------------------------------------------


@import_app.command("stats")
@handle_errors
def stats(
    file: FileArg,
    as_user: AsOpt,
    skip_invalid: SkipOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """导入各镇街三率基础数据 / import townships' yearly kindergarten figures."""
    ctx = open_context(db, config)
    data = _read(file)
    today = local_today(ctx.district, datetime.now(UTC))
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        try:
            result = import_stats(s, data, actor=actor, today=today, skip_invalid=skip_invalid)
        except ImportRefused as exc:
            raise refused(exc, json) from None
    if json:
        return print_json({"imported": True, **result.as_dict()})
    if result.skipped:
        _print_row_errors(result.skipped, heading_zh="以下行有误，已跳过", heading_en="skipped invalid rows")
    typer.echo(f"三率基础数据已导入：新增 {result.added} 条，更新 {result.updated} 条，未变 {result.unchanged} 条，"
               f"跳过 {len({e.row for e in result.skipped})} 行 / figures imported: {result.added} added, "
               f"{result.updated} updated, {result.unchanged} unchanged")
    if result.total_rows:
        rows = "、".join(f"第{r}行" for r in result.total_rows)
        typer.echo(f"合计行未导入（全区数据由各镇街相加）：{rows} / total rows left out: {result.total_rows}")


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _mark(ok: bool | None) -> str:
    return "" if ok is None else (" ✓" if ok else " ✗")


def indicators(
    year: Annotated[int | None, typer.Option("--year", help="年份（默认最新）/ year, default the newest")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """各镇街和全区的学前教育三率及目标 / the three rates per township and district against the targets."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        report = indicator_report(s, ctx.district, year=year)
    data = report.as_dict(ctx.district)
    if json:
        return print_json(data)
    if report.year is None:
        typer.echo("尚无三率基础数据，请先导入（tuoyou import stats）/ no figures yet: run tuoyou import stats")
        return
    targets = ctx.district.indicators
    heads = [f"{zh}" + (f"（目标≥{getattr(targets, k):g}%）" if targets else "") for k, zh, _en in RATES]
    table = Table("镇街 township", "常住适龄幼儿", "在园幼儿", "公办园", "普惠性民办园", *heads,
                  title=f"{ctx.district.district.name} {report.year} 年学前教育三率 / three rates")
    rows: list[dict[str, Any]] = data["townships"] + ([data["district"]] if data["district"] else [])
    for i, r in enumerate(rows):
        name = r["name"] if i < len(data["townships"]) else bold(f"全区 {r['name']}")
        table.add_row(name, str(r["population"]), str(r["enrolled"]), str(r["public"]), str(r["inclusive_private"]),
                      *(_fmt(r[k]) + _mark(r["meets"][k]) for k, _zh, _en in RATES))
    out.print(table)
    if report.missing:
        typer.echo(f"未报送 {report.year} 年数据的镇街 / not reported: {'、'.join(report.missing)}")
