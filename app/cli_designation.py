"""Commands for the second workflow and the hotline: `tuoyou designation …` and `tuoyou complaint …`.

A 小区配套园办园性质认定 case is opened here and then moves by `tuoyou case do` like every case;
12345 工单 open, reopen or join a rectification case and are answered here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table
from sqlmodel import Session

from app.context import (
    AsOpt,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    ViewAsOpt,
    handle_errors,
    open_context,
    print_json,
    viewer,
)
from app.output import out  # user data printed literally, without control sequences
from cases.complaints import OUTCOME_ZH, add_complaint, list_complaints, reply_complaint
from cases.errors import InvalidInput
from cases.queries import case_detail
from cases.service import local_today, open_case
from cases.users import get_user
from cases.validation import parse_date

designation_app = typer.Typer(help="小区配套园办园性质认定 / estate kindergarten designation", no_args_is_help=True)
complaint_app = typer.Typer(help="12345 接诉即办工单 / hotline complaints", no_args_is_help=True)

@designation_app.command("open")
@handle_errors
def designation_open(
    name: Annotated[str, typer.Option("--name", help="小区配套幼儿园名称 / kindergarten name")],
    township: Annotated[str, typer.Option("--township", help="镇街编码 / township code")],
    as_user: AsOpt,
    address: Annotated[str, typer.Option("--address", help="地址（小区）/ address")] = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """镇街发起小区配套园办园性质认定 / open a designation case (then `case do CASE apply --target …`)."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        case = open_case(session=s, district=ctx.district, actor=actor, name=name, township_code=township,
                         address=address, operator="", source="estate", workflow="designation")
        d = case_detail(s, user=actor, case_id=case.id, district=ctx.district,
                        today=local_today(ctx.district, datetime.now(UTC)))
    if json:
        return print_json({"case_id": case.id, "workflow": d["workflow"], "state": d["state"],
                           "state_zh": d["state_zh"], "allowed": d["allowed"]})
    typer.echo(f"已立案：案件 {case.id}（{d['workflow_zh']}，{d['state_zh']}）。下一步：tuoyou case do {case.id} apply "
               f"--target 公办园|普惠性民办园 --as {as_user} / opened designation case {case.id}")


@complaint_app.command("add")
@handle_errors
def complaint_add(
    number: Annotated[str, typer.Option("--number", help="12345 工单号 / hotline ticket number")],
    as_user: AsOpt,
    point: Annotated[int | None, typer.Option("--point", help="托幼点编号 / point id", min=1,
                                              max=2**31 - 1)] = None,
    name: Annotated[str, typer.Option("--name", help="托幼点名称（未登记的点）/ name")] = "",
    address: Annotated[str, typer.Option("--address", help="地址 / address")] = "",
    township: Annotated[str, typer.Option("--township", help="镇街编码 / township code")] = "",
    operator: Annotated[str, typer.Option("--operator", help="举办者（如知道）/ operator")] = "",
    phone: Annotated[str, typer.Option("--phone", help="联系电话 / phone")] = "",
    summary: Annotated[str, typer.Option("--summary", help="诉求内容 / what the caller reported")] = "",
    on: Annotated[str | None, typer.Option("--on", help="受理日期 YYYY-MM-DD（默认今天）")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """受理 12345 工单：新立案、已备案点重新核查，或并入在办案件 / take in a 12345 complaint."""
    if point is not None and (name or address or township):
        raise InvalidInput("--point 与 --name/--address/--township 只能二选一",
                           "give either --point or --name/--address/--township, not both")
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        added = add_complaint(s, ctx.district, actor=actor, number=number, summary=summary, point_id=point,
                              name=name, address=address, township_code=township, operator=operator, phone=phone,
                              received_on=parse_date(on, "on"))
    if json:
        return print_json(added.as_dict())
    typer.echo(f"工单 {added.number}：{OUTCOME_ZH[added.outcome]}，案件 {added.case_id}，"
               f"答复期限 {added.reply_due.isoformat()} / complaint {added.number}: case {added.case_id} "
               f"({added.outcome}), reply due {added.reply_due.isoformat()}")


@complaint_app.command("reply")
@handle_errors
def complaint_reply(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="工单号")],
    text: Annotated[str, typer.Option("--text", help="答复内容 / the reply to the hotline")],
    as_user: AsOpt,
    on: Annotated[str | None, typer.Option("--on", help="答复日期 YYYY-MM-DD（默认今天）")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """记录对 12345 热线的答复 / record the reply to the hotline."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        row = reply_complaint(s, ctx.district, actor=actor, number=number, text=text, on=parse_date(on, "on"))
    if json:
        return print_json(row.as_dict())
    typer.echo(f"工单 {row.number} 已答复（{row.replied_on}）/ complaint {row.number} replied")


@complaint_app.command("list")
@handle_errors
def complaint_list(
    status: Annotated[str | None, typer.Option("--status", help="open|replied|overdue")] = None,
    as_user: ViewAsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """12345 工单及其办理、答复状态 / complaints and the status of each reply."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        rows = list_complaints(s, ctx.district, user=viewer(s, as_user), status=status)
    if json:
        return print_json([r.as_dict() for r in rows])
    table = Table("工单号", "受理", "托幼点", "镇街", "案件", "案件状态", "答复期限", "答复状态",
                  title=f"12345 工单 共 {len(rows)} 件 / {len(rows)} complaints")
    for r in rows:
        table.add_row(r.number, r.received_on.isoformat(), r.point, r.township,
                      f"#{r.case_id}", r.state_zh, r.reply_due.isoformat(),
                      r.status_zh + (f" {r.replied_on.isoformat()}" if r.replied_on else ""))
    out.print(table)
