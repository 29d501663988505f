"""The notice commands of the CLI: `tuoyou notice list|render|verify` and `tuoyou report`.

`notice_app` is registered as `notice` and `report` as a top-level command by `app/cli.py`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session, col, select

from app.context import ConfigOpt, DbOpt, JsonOpt, handle_errors, open_context, print_json
from app.output import out
from cases.errors import InvalidInput, NotFound
from cases.models import Notice
from cases.validation import check_id, parse_date
from workflow.notices import NOTICE_TITLES, NoticeKind

_LOGGER = logging.getLogger(__name__)

notice_app = typer.Typer(help="文书（PDF）：列出、生成、核验 / notices: list, render, verify", no_args_is_help=True)

EXIT_GENUINE = 0
EXIT_ALTERED = 1
EXIT_UNKNOWN = 2
EXIT_DAMAGED = 3

_STATUS_LINE = {
    "genuine": "真实有效 / genuine",
    "altered": "已被改动 / altered",
    "damaged": "文件已损坏 / damaged",
    "unknown": "无法识别 / unknown",
}


def _title(kind: str) -> str:
    try:
        return NOTICE_TITLES[NoticeKind(kind)]
    except ValueError:
        return kind


def _notice_row(n: Notice) -> dict[str, object]:
    return {"id": n.id, "number": n.number, "kind": n.kind, "title": _title(n.kind), "case_id": n.case_id,
            "addressee": n.addressee, "issuer": n.issuer, "issued_on": n.issued_on,
            "verify_code": n.verify_code, "pdf_sha256": n.pdf_sha256, "pdf_path": n.pdf_path}


@notice_app.command("list")
@handle_errors
def list_notices(
    case: Annotated[int | None, typer.Option("--case", help="只列出该案件的文书 / only this case")] = None,
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """列出文书 / list notices."""
    if case is not None:
        check_id(case, "case")  # beyond INTEGER: not found on every database
    ctx = open_context(db, config)
    with Session(ctx.engine) as session:
        stmt = select(Notice).order_by(col(Notice.issued_on), col(Notice.id))
        if case is not None:
            stmt = stmt.where(Notice.case_id == case)
        rows = [_notice_row(n) for n in session.exec(stmt).all()]
    if json_out:
        print_json(rows)
        return
    table = Table(title="文书 / notices")
    table.add_column("文号 number", no_wrap=True)
    for head in ("类型 kind", "案件 case", "主送 addressee", "日期 issued", "PDF"):
        table.add_column(head, overflow="fold")
    for r in rows:
        table.add_row(str(r["number"]), str(r["title"]), str(r["case_id"] or "—"), str(r["addressee"]),
                      str(r["issued_on"]), "✓" if r["pdf_sha256"] else "—")
    out.print(table)


@notice_app.command("render")
@handle_errors
def render(
    numbers: Annotated[list[str] | None, typer.Argument(help="文号 / notice numbers")] = None,
    out: Annotated[Path, typer.Option("--out", help="输出目录 / output directory")] = Path("notices"),
    case: Annotated[int | None, typer.Option("--case", help="该案件的全部文书 / every notice of this case")] = None,
    all_: Annotated[bool, typer.Option("--all", help="全部文书 / every notice")] = False,
    processes: Annotated[int | None, typer.Option("--processes", "-j", help="进程数 / worker processes")] = None,
    force: Annotated[bool, typer.Option("--force", help="已生成的也重新生成 / render again even if done")] = False,
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """生成文书 PDF / render notices to PDF files in --out."""
    from cases.notices.render import render_notices

    if not numbers and case is None and not all_:
        raise InvalidInput("请给出文号，或使用 --case / --all", "give notice numbers, --case or --all")
    if case is not None:
        check_id(case, "case")
    ctx = open_context(db, config)
    with Session(ctx.engine) as session:
        found: dict[str, Notice] = {}
        if numbers:
            rows = session.exec(select(Notice).where(col(Notice.number).in_(numbers))).all()
            found.update({n.number: n for n in rows})
            missing = [x for x in numbers if x not in found]
            if missing:
                raise NotFound(f"找不到文书：{'、'.join(missing)}", f"no such notice: {', '.join(missing)}")
        if case is not None:
            found.update({n.number: n for n in session.exec(select(Notice).where(Notice.case_id == case)).all()})
        if all_:
            found.update({n.number: n for n in session.exec(select(Notice)).all()})
        notices = sorted(found.values(), key=lambda n: (n.issued_on, n.id or 0))
        if not notices:
            raise NotFound("没有可生成的文书", "no notices to render")
        console = Console(stderr=True)
        with Progress(TextColumn("生成文书 / rendering"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=json_out) as bar:
            task = bar.add_task("render", total=len(notices))
            paths = render_notices(session, notices, ctx.district, out, processes=processes, force=force,
                                   key=ctx.settings.secret_key,
                                   progress=lambda done, total: bar.update(task, completed=done, total=total))
        rows = [{"number": n.number, "path": str(p), "sha256": n.pdf_sha256, "verify_code": n.verify_code}
                for n, p in zip(notices, paths, strict=True)]
    if json_out:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['number']}\t{r['path']}")


@notice_app.command("verify")
@handle_errors
def verify(
    file: Annotated[Path, typer.Argument(help="PDF 文件 / the PDF file")],
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """核验文书：真实有效 / 已被改动 / 无法识别 / 文件已损坏 (exit 0 genuine, 1 altered, 2 unknown, 3 damaged)."""
    from cases.notices.verify import verify_pdf

    if not file.is_file():
        raise NotFound(f"找不到文件 {file}", f"file {file} not found")
    ctx = open_context(db, config)
    with Session(ctx.engine) as session:
        result = verify_pdf(session, file)
    if json_out:
        print_json(result.as_dict())
    else:
        typer.echo(_STATUS_LINE[result.status])
        if result.number:
            typer.echo(f"文号 number: {result.number}（{_title(result.kind)}，{result.issued_on}）")
        typer.echo(f"sha256: {result.sha256}")
        typer.echo(result.detail)
    code = {"genuine": EXIT_GENUINE, "altered": EXIT_ALTERED, "damaged": EXIT_DAMAGED}.get(result.status, EXIT_UNKNOWN)
    if code:
        raise typer.Exit(code)


@handle_errors
def report(
    period: Annotated[str, typer.Option("--period", help="week 或 month / week or month")] = "week",
    out: Annotated[Path, typer.Option("--out", help="输出 PDF 文件 / output PDF file")] = Path("督查通报.pdf"),
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """生成督查通报 PDF（按周或按月）/ render the district's supervision bulletin for a week or month."""
    from cases.notices.report import render_report

    if period not in ("week", "month"):
        raise InvalidInput(f"--period 须为 week 或 month，而不是 {period}",
                           f"--period must be week or month, not {period}")
    ctx = open_context(db, config)
    with Session(ctx.engine) as session:
        notice, path = render_report(session, ctx.district, period, out, key=ctx.settings.secret_key)
        row = {"number": notice.number, "path": str(path), "sha256": notice.pdf_sha256,
               "verify_code": notice.verify_code, "period": (notice.data or {}).get("period")}
    if json_out:
        print_json(row)
        return
    typer.echo(f"{row['number']}\t{row['path']}")


@notice_app.command("deliver")
@handle_errors
def deliver_notice(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="文号 / notice number")],
    method: Annotated[str, typer.Option("--method", help="direct|left|mail|electronic|public（直接送达/留置送达/"
                                        "邮寄送达/电子送达/公告送达）")],
    on: Annotated[str, typer.Option("--on", help="送达日期 YYYY-MM-DD（公告送达为公告日期）/ service date")],
    as_user: Annotated[str, typer.Option("--as", help="登记送达的用户 / user recording the service")],
    recipient: Annotated[str, typer.Option("--recipient", help="受送达人（默认为主送单位）/ recipient")] = "",
    place: Annotated[str, typer.Option("--place", help="送达地点（默认为托幼点地址）/ place")] = "",
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """登记文书送达并出具送达回证 / record the service of a notice and issue its 送达回证."""
    from cases.serving import deliver
    from cases.users import get_user

    served_on = parse_date(on, "served_on")
    if served_on is None:
        raise InvalidInput("请用 --on 给出送达日期 YYYY-MM-DD", "--on must give the service date as YYYY-MM-DD")
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as session:
        actor = get_user(session, as_user)
        served = deliver(session=session, district=ctx.district, number=number, method=method, served_on=served_on,
                         actor=actor, recipient=recipient, place=place)
        row = served.summary()
    if json_out:
        print_json(row)
        return
    line = (f"{row['number']} 已于 {row['served_on']} {row['method_zh']}，受送达人 {row['recipient']}；"
            f"送达回证 {row['receipt']}")
    if row["deadline_before"]:
        line += f"；期限自送达之日起重新计算：{row['deadline_before']} → {row['deadline']}"
    typer.echo(line + f" / served on {row['served_on']} ({row['method']}), receipt {row['receipt']}")
