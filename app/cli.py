"""The `tuoyou` command line (DESIGN §7): one Typer app whose commands call the case service."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlmodel import Session, col, select

from app.cli_designation import complaint_app, designation_app
from app.cli_import import export_app, import_app, indicators
from app.cli_notices import notice_app, report
from app.cli_scheduler import inbox, scheduler_app
from app.cli_serve import serve
from app.context import AsOpt, ConfigOpt, DbOpt, JsonOpt, ViewAsOpt, handle_errors, open_context, print_json, viewer
from app.output import SafeConsole, echo
from cases import audit
from cases import evidence as ev
from cases.bootstrap import init_database
from cases.config import district_warnings
from cases.demo import DEMO_PASSWORD, fill_demo
from cases.errors import InvalidInput
from cases.models import Township, User
from cases.queries import case_detail, list_cases, rectification_engine
from cases.registry import links_of
from cases.service import Action, advance, local_today, open_case
from cases.users import add_user, disable_user, enable_user, get_user, issue_token, unlock_user
from cases.validation import check_id, for_terminal, parse_date

_LOGGER = logging.getLogger(__name__)

app = typer.Typer(
    name="tuoyou",
    help="民办托幼点整治案件引擎 / rectification case engine for private childcare points",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
township_app = typer.Typer(help="镇街 / townships", no_args_is_help=True)
user_app = typer.Typer(help="用户 / users", no_args_is_help=True)
checklist_app = typer.Typer(help="检查项目 / inspection checklist", no_args_is_help=True)
point_app = typer.Typer(help="托幼点 / childcare points", no_args_is_help=True)
case_app = typer.Typer(help="案件 / cases", no_args_is_help=True)
audit_app = typer.Typer(help="审计链 / audit chain", no_args_is_help=True)
workflow_app = typer.Typer(help="流程定义 / workflow", no_args_is_help=True)
app.add_typer(township_app, name="township")
app.add_typer(user_app, name="user")
app.add_typer(checklist_app, name="checklist")
app.add_typer(point_app, name="point")
app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(workflow_app, name="workflow")

err = SafeConsole(stderr=True)
out = SafeConsole()

def _parse_date(value: str | None, label: str) -> date | None:
    return parse_date(value, label.removeprefix("--").replace("-", "_"))



# -- init / demo -----------------------------------------------------------------------------


@app.command()
@handle_errors
def init(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """创建或升级数据库 / create or migrate the database."""
    ctx = open_context(db, config, create=True)
    info = init_database(ctx.engine, ctx.district)
    typer.echo(f"数据库已就绪：{info['district']}，版本 {info['revision']}，新增镇街 {info['townships_added']} 个"
               f" / database ready at revision {info['revision']}")
    for zh, en in district_warnings(ctx.district):
        echo(f"警告：{zh}\nwarning: {en}", err=True)


@app.command()
@handle_errors
def demo(
    db: DbOpt = None,
    config: ConfigOpt = None,
    points: Annotated[int, typer.Option(help="托幼点数量 / number of points")] = 300,
    seed: Annotated[int, typer.Option(help="随机种子 / random seed")] = 2026,
) -> None:
    """填充演示区县：各角色用户、托幼点和各状态的案件 / fill the database with a demo district."""
    ctx = open_context(db, config, create=True)
    init_database(ctx.engine, ctx.district)
    with Progress(TextColumn("生成演示案件 / demo cases"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task("demo", total=points)
        counts = fill_demo(ctx.engine, ctx.district, points=points, seed=seed,
                           progress=lambda done, total: bar.update(task, completed=done))
    eng = rectification_engine()
    typer.echo(f"演示数据已生成：{sum(counts.values())} 个案件 / demo data created")
    for state, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {eng.state_zh(state)} {state}: {n}")
    typer.echo(f"演示账号（密码均为 {DEMO_PASSWORD}）/ demo logins (password {DEMO_PASSWORD}): "
               "insp01…  lead01…  reviewer1 reviewer2  committee  admin")


# -- townships, users, checklist -------------------------------------------------------------


@township_app.command("list")
@handle_errors
def township_list(db: DbOpt = None, config: ConfigOpt = None, json: JsonOpt = False) -> None:
    """镇街编码和名称 / code and name of each township."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        rows = [{"code": t.code, "name": t.name} for t in s.exec(select(Township).order_by(col(Township.code))).all()]
    if json:
        return print_json(rows)
    table = Table("编码 code", "名称 name", title=ctx.district.district.name)
    for r in rows:
        table.add_row(r["code"], r["name"])
    out.print(table)


@user_app.command("add")
@handle_errors
def user_add(
    name: str,
    role: Annotated[str, typer.Option("--role", help="inspector|lead|reviewer|committee|admin")],
    township: Annotated[str | None, typer.Option("--township", help="镇街编码 / township code")] = None,
    password: Annotated[str | None, typer.Option("--password")] = None,
    email: Annotated[str, typer.Option("--email")] = "",
    display_name: Annotated[str, typer.Option("--display-name", help="显示名 / display name")] = "",
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """添加用户 / add a user."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        u = add_user(s, name=name, role=role, township_code=township, password=password, email=email,
                     display_name=display_name)
    echo(f"已添加用户 {u.name}（{role}）/ user added")


@user_app.command("list")
@handle_errors
def user_list(db: DbOpt = None, config: ConfigOpt = None, json: JsonOpt = False) -> None:
    """用户列表 / list users."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        towns = {t.id: t.code for t in s.exec(select(Township)).all()}
        rows = [{"name": u.name, "display_name": u.display_name, "role": u.role,
                 "township": towns.get(u.township_id) if u.township_id else None, "email": u.email,
                 "active": u.active, "locked_until": u.locked_until}
                for u in s.exec(select(User).order_by(col(User.id))).all()]
    if json:
        return print_json(rows)
    table = Table("用户 name", "显示名", "角色 role", "镇街 township", "状态 status")
    now = datetime.now(UTC)
    for r in rows:
        status = ("停用 disabled" if not r["active"] else
                  "锁定 locked" if r["locked_until"] and r["locked_until"] > now else "正常 active")
        table.add_row(r["name"], r["display_name"], r["role"], r["township"] or "—", status)
    out.print(table)


@user_app.command("token")
@handle_errors
def user_token(name: str, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """为用户生成 API 令牌（旧令牌失效）/ print a new API token for NAME."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        typer.echo(issue_token(s, get_user(s, name)))


@user_app.command("disable")
@handle_errors
def user_disable(name: str, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """停用用户：不能再登录，已登录的会话和 API 令牌立即失效 / disable NAME, ending its sessions and token."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        u = disable_user(s, name)
    echo(f"已停用用户 {u.name}，其会话和 API 令牌已失效 / user {u.name} disabled; sessions and token revoked")


@user_app.command("enable")
@handle_errors
def user_enable(name: str, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """重新启用已停用的用户（须重新生成 API 令牌）/ enable NAME again (it needs a new API token)."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        u = enable_user(s, name)
    echo(f"已启用用户 {u.name} / user {u.name} enabled")


@user_app.command("unlock")
@handle_errors
def user_unlock(name: str, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """解除因连续登录失败造成的锁定 / lift NAME's sign-in lock-out now."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        u = unlock_user(s, name)
    echo(f"已解除用户 {u.name} 的登录锁定 / user {u.name} unlocked")


@checklist_app.command("list")
@handle_errors
def checklist_list(db: DbOpt = None, config: ConfigOpt = None, json: JsonOpt = False) -> None:
    """检查项目：编码、名称、能否认定为重大安全隐患 / checklist items."""
    ctx = open_context(db, config)
    rows = [{"code": c.code, "title": c.title, "category": c.category, "severity": c.severity,
             "major_capable": c.major_capable} for c in ctx.district.checklist]
    if json:
        return print_json(rows)
    table = Table("编码 code", "项目 title", "类别", "严重程度", "可认定重大隐患 major")
    for r in rows:
        table.add_row(r["code"], r["title"], r["category"], r["severity"], "是 yes" if r["major_capable"] else "否 no")
    out.print(table)


# -- points and cases ------------------------------------------------------------------------


@point_app.command("add")
@handle_errors
def point_add(
    name: Annotated[str, typer.Option("--name", help="托幼点名称")],
    township: Annotated[str, typer.Option("--township", help="镇街编码")],
    address: Annotated[str, typer.Option("--address", help="地址")],
    operator: Annotated[str, typer.Option("--operator", help="举办者")],
    as_user: AsOpt,
    phone: Annotated[str, typer.Option("--phone")] = "",
    registered_on: Annotated[str | None, typer.Option("--registered-on", help="首次登记日期 YYYY-MM-DD")] = None,
    source: Annotated[str, typer.Option("--source", help="registry|complaint|patrol")] = "registry",
    basis: Annotated[str, typer.Option(
        "--basis", help="登记日期的依据（截止日期前必填），如 原备案台账第37号 / basis of the date")] = "",
    force: Annotated[bool, typer.Option(
        "--force", help="确认不是重复登记，仍然登记 / register despite a likely duplicate")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """登记托幼点并立案 / register a point and open its case."""
    ctx = open_context(db, config)
    day = _parse_date(registered_on, "--registered-on")
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        case = open_case(session=s, district=ctx.district, actor=actor, name=name, township_code=township,
                         address=address, operator=operator, phone=phone, registered_on=day, source=source,
                         basis=basis, force=force)
        links = [link.as_dict() for link in links_of(s, case.id)]
    if json:
        return print_json({"case_id": case.id, "point_id": case.point_id, "state": case.state, "links": links})
    typer.echo(f"已立案：案件 {case.id}（已登记）/ case {case.id} opened")
    for link in links:
        typer.echo(f"注意 / note: {link['zh']}")


@case_app.command("list")
@handle_errors
def case_list(
    state: Annotated[str | None, typer.Option("--state", help="状态 / state")] = None,
    township: Annotated[str | None, typer.Option("--township", help="镇街编码")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="仅逾期 / overdue only")] = False,
    workflow: Annotated[str | None, typer.Option("--workflow", help="rectification|designation")] = None,
    as_user: ViewAsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """案件列表 / list cases."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        who = viewer(s, as_user)
        today = local_today(ctx.district, datetime.now(UTC))
        rows = list_cases(s, user=who, state=state, township=township, overdue=overdue, workflow=workflow,
                          today=today)
    if json:
        return print_json([r.as_dict() for r in rows])
    table = Table("案件 id", "托幼点 point", "镇街", "状态 state", "轮次", "期限 deadline", "督办级别",
                  title=f"共 {len(rows)} 件 / {len(rows)} cases")
    for r in rows:
        table.add_row(str(r.id), r.point, r.township, f"{r.state_zh} {r.state}", str(r.round),
                      r.deadline.isoformat() if r.deadline else "—", str(r.level))
    out.print(table)


@case_app.command("show")
@handle_errors
def case_show(
    case_id: Annotated[int, typer.Argument(metavar="CASE")],
    as_user: Annotated[str | None, typer.Option("--as", help="以该用户查看 / as this user")] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """案件详情：状态、期限、轮次、督办级别、时间线、可执行操作 / show one case."""
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        who = viewer(s, as_user)
        d = case_detail(s, user=who, case_id=case_id, district=ctx.district,
                        today=local_today(ctx.district, datetime.now(UTC)))
    if json:
        return print_json(d)
    _print_case(d)


def _kept_evidence(paths: list[Path], data_dir: Path) -> list[ev.Kept]:
    """Every `--evidence` file checked (type by content, size, an image that decodes) and kept, before the
    case is touched; the first bad file is named and nothing is attached."""
    if len(paths) > ev.MAX_FILES:
        raise InvalidInput(f"一次最多附 {ev.MAX_FILES} 个证据文件", f"at most {ev.MAX_FILES} evidence files at once",
                           cli="--evidence")
    kept = []
    for path in paths:
        data = ev.read_path(path)
        try:
            kept.append(ev.keep(data_dir=data_dir, filename=path.name, data=data))
        except InvalidInput as exc:
            shown = for_terminal(str(path))
            raise InvalidInput(f"{shown}：{exc.zh}", f"{shown}: {exc.en}", cli="--evidence") from None
    return kept


def _print_case(d: dict[str, Any]) -> None:
    p = d["point"]
    out.print(Text.assemble((f"案件 {d['id']}", "bold"), f"  {for_terminal(p['name'])}（{p['township']}）"
                            f"  版本 v{d['version']}"))
    out.print(Text.assemble("状态 state: ", (d["state_zh"], "bold"),
                            f" ({d['state']})   轮次 round: {d['round']}/{d['round_max']}"
                            f"   督办级别 level: {d['escalation_level']}"))
    if d["deadline"]:
        out.print(f"期限 deadline: {d['deadline']}（{d['deadline_kind']}，剩余 {d['days_left']} 个工作日）")
    out.print(f"举办者 operator: {p['operator']}  地址 address: {p['address']}  登记 registered: {p['registered_on']}")
    table = Table("#", "时间 at", "操作 trigger", "操作人 actor", "状态 to", "理由 reason", "文书 notice")
    for e in d["timeline"]:
        table.add_row(str(e["seq"]), e["at"][:16].replace("T", " "), f"{e['trigger_zh']} {e['trigger']}",
                      f"{e['actor']} ({e['role']})", e["to_zh"], e["reason"] or "", e["notice"] or "")
    out.print(table)
    allowed = ", ".join(d["allowed"]) or "（无 / none）"
    out.print(f"当前可执行 / allowed now: {allowed}")


@case_app.command("do")
@handle_errors
def case_do(
    case_id: Annotated[int, typer.Argument(metavar="CASE")],
    trigger: Annotated[str, typer.Argument(metavar="TRIGGER")],
    as_user: AsOpt,
    reason: Annotated[str, typer.Option("--reason", help="理由 / reason")] = "",
    fail: Annotated[list[str] | None, typer.Option("--fail", help="不合格项目编码 / failed item")] = None,
    major: Annotated[list[str] | None, typer.Option("--major", help="重大安全隐患项目 / major hazard")] = None,
    target: Annotated[str, typer.Option("--target", help="转型目标机构，或认定的办园性质 / conversion target or "
                                                       "designated nature")] = "",
    expect_version: Annotated[int | None, typer.Option("--expect-version", help="乐观锁版本 / version")] = None,
    evidence: Annotated[list[Path] | None, typer.Option(
        "--evidence", metavar="FILE", help="证据文件（JPEG、PNG 或 PDF，可多次给出）/ evidence file, repeatable",
    )] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """对案件执行操作 / fire TRIGGER on CASE."""
    ctx = open_context(db, config)
    kept = _kept_evidence(evidence or [], Path(ctx.settings.data_dir))
    with Session(ctx.engine, expire_on_commit=False) as s:
        actor = get_user(s, as_user)
        now = datetime.now(UTC)
        for k in kept:  # in the transition's transaction: a refused transition leaves no evidence row
            ev.attach(s, case_id=case_id, user=actor, kept=k, now=now, commit=False)
        result = advance(session=s, district=ctx.district, case_id=case_id, actor=actor, now=now,
                         action=Action(trigger=trigger, reason=reason, failed=tuple(fail or ()),
                                       major=tuple(major or ()), target=target, expected_version=expect_version,
                                       evidence=tuple(dict.fromkeys(k.sha256 for k in kept))))
    payload = result.summary()
    if json:
        return print_json(payload)
    msg = f"案件 {case_id}：{payload['from_zh']} → {payload['state_zh']}"
    if payload["deadline"]:
        msg += f"，期限 {payload['deadline']}"
    if payload["notices"]:
        msg += f"，文书 {'、'.join(payload['notices'])}"
    typer.echo(msg + f" / case {case_id}: {payload['from']} → {payload['to']}")


# -- audit, workflow -------------------------------------------------------------------------


@audit_app.command("verify")
@handle_errors
def audit_verify(
    case_id: Annotated[int | None, typer.Option("--case", help="只核验该案件 / one case")] = None,
    seal_fp: Annotated[str | None, typer.Option("--seal", help="督查通报上印的封存指纹 / the seal fingerprint "
                                                               "printed in a 督查通报")] = None,
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """核验审计哈希链、案件记录与区级封存，全部完好时退出码为 0 / exit 0 when every chain, row and seal holds."""
    from cases import seal

    if case_id is not None:
        check_id(case_id, "case")  # beyond INTEGER: not found on every database
    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        breaks = audit.verify(s, case_id)
        if seal_fp:
            found = seal.find(s, seal_fp)
            if found is None:
                breaks.append(audit.Break(0, None, f"封存指纹 {seal_fp} 不存在（封存记录被删除或改写）",
                                          f"no seal has the fingerprint {seal_fp} (seals deleted or rewritten)"))
    if json_out:
        print_json({"intact": not breaks, "breaks": [
            {"case_id": b.case_id or None, "seq": b.seq, "zh": b.problem_zh, "en": b.problem_en} for b in breaks]})
        if breaks:
            raise typer.Exit(7)
        return
    if not breaks:
        typer.echo("审计链完好 / every hash chain is intact")
        return
    for b in breaks:
        if not b.case_id:
            echo(f"区级封存：{b.problem_zh} / seal: {b.problem_en}", err=True)
            continue
        where = f"第 {b.seq} 条" if b.seq else ""
        echo(f"案件 {b.case_id} {where}：{b.problem_zh} / case {b.case_id}: {b.problem_en}", err=True)
    cases = len({b.case_id for b in breaks})
    typer.echo(f"发现 {len(breaks)} 处不一致，涉及 {cases} 个案件或封存 / {len(breaks)} breaks in {cases} cases or "
               "seals", err=True)
    raise typer.Exit(7)


@audit_app.command("seal")
@handle_errors
def audit_seal(
    json_out: JsonOpt = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """区级封存：锚定每个案件审计链的最新记录并打印封存指纹 / anchor every case's chain head now."""
    from cases import seal

    ctx = open_context(db, config)
    with Session(ctx.engine, expire_on_commit=False) as s:
        sealed = seal.seal(s)
    if sealed is None:
        raise InvalidInput("没有可封存的案件", "there are no cases to seal")
    if json_out:
        print_json(sealed.as_dict())
        return
    typer.echo(f"第 {sealed.seq} 次封存：{sealed.cases} 个案件，{sealed.events} 条记录，指纹 {sealed.fingerprint} / "
               f"seal {sealed.seq}: {sealed.cases} cases, {sealed.events} events, fingerprint {sealed.fingerprint}")


@workflow_app.command("show")
@handle_errors
def workflow_show(
    fmt: Annotated[str, typer.Option("--format", help="table|mermaid")] = "table",
    which: Annotated[str, typer.Option("--workflow", help="rectification|designation")] = "rectification",
) -> None:
    """打印流程定义（表格或 Mermaid 状态图）/ print the workflow as a table or a mermaid diagram."""
    from workflow.designation import DESIGNATION
    from workflow.engine import engine_for
    from workflow.rectification import RECTIFICATION

    specs = {"rectification": RECTIFICATION, "designation": DESIGNATION}
    if which not in specs:
        raise InvalidInput(f"没有名为 {which} 的流程", f"no workflow named {which}", allowed=list(specs))
    eng = engine_for(specs[which])
    if fmt == "mermaid":
        typer.echo(eng.mermaid())
        return
    if fmt != "table":
        raise InvalidInput("--format 须为 table 或 mermaid", "--format must be table or mermaid")
    states = Table("状态 state", "中文", "终态 terminal", title=f"{eng.spec.zh}（{eng.spec.name}）")
    for st in eng.spec.states:
        states.add_row(st.name, st.zh, "■" if st.terminal else ("待审批" if st.proposal else ""))
    out.print(states)
    table = Table("操作 trigger", "中文", "从 from", "到 to", "角色 by")
    for row in eng.table():
        table.add_row(*row)
    out.print(table)


app.add_typer(notice_app, name="notice")
app.add_typer(designation_app, name="designation")
app.add_typer(complaint_app, name="complaint")
app.command("report")(report)
app.add_typer(scheduler_app, name="scheduler")
app.command("inbox")(inbox)
app.command("serve")(serve)
app.add_typer(import_app, name="import")
app.add_typer(export_app, name="export")
app.command("indicators")(handle_errors(indicators))


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
