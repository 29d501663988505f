"""`tuoyou serve`: run the web app (uvicorn) with the in-process scheduler; `--demo` fills a demo database first."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import inspect

from app.context import AppContext, ConfigOpt, DbOpt, handle_errors, open_context
from cases.bootstrap import init_database
from cases.demo import DEMO_PASSWORD, fill_demo
from cases.errors import InvalidInput

_LOGGER = logging.getLogger(__name__)

DEMO_DB = "tuoyou-demo.db"


@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址 / address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="先用演示区县填充一个新的 SQLite 数据库 / fill a fresh "
                                                      "SQLite database with the demo district first")] = False,
    points: Annotated[int, typer.Option("--points", help="演示托幼点数量 / demo points")] = 300,
    scheduler: Annotated[bool, typer.Option("--scheduler/--no-scheduler",
                                            help="同时运行定时任务 / run the in-process scheduler")] = True,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """启动网页和 JSON API（含定时任务）/ run the web app and JSON API with the in-process scheduler."""
    import uvicorn

    from app.web import create_app

    if demo and db is None:
        db = f"sqlite:///{DEMO_DB}"
    ctx = open_context(db, config)
    if demo:
        _fill_demo(ctx, points)
    else:
        init_database(ctx.engine, ctx.district)
    app = create_app(engine=ctx.engine, district=ctx.district, settings=ctx.settings, start_scheduler=scheduler,
                     config_path=ctx.config_path)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    typer.echo(f"托幼点整治网页已启动：http://{shown}:{port}/ （Ctrl+C 停止）/ serving on http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def _fill_demo(ctx: AppContext, points: int) -> None:
    engine, district = ctx.engine, ctx.district
    if engine.dialect.name != "sqlite":
        raise InvalidInput("--demo 只用于新的 SQLite 数据库", "--demo only fills a fresh SQLite database")
    if "case" in inspect(engine).get_table_names():
        from sqlmodel import Session, select

        from cases.models import User

        with Session(engine) as session:
            if session.exec(select(User).where(User.name == "admin")).first() is not None:
                typer.echo(f"演示数据已存在（{Path(engine.url.database or '').name}），直接启动 / demo data present")
                _print_logins(len(district.townships))
                return
    init_database(engine, district)
    typer.echo(f"正在生成演示数据（{points} 个托幼点）… / filling the demo district …")
    counts = fill_demo(engine, district, points=points)
    typer.echo(f"演示数据已生成：{sum(counts.values())} 个案件 / demo data created")
    _print_logins(len(district.townships))


def _print_logins(towns: int) -> None:
    typer.echo(f"演示账号（密码均为 {DEMO_PASSWORD}）/ demo logins (password {DEMO_PASSWORD}):")
    typer.echo(f"  镇街检查员 insp01 … insp{towns:02d}   镇街负责人 lead01 … lead{towns:02d}")
    typer.echo("  区教育局审核员 reviewer1 reviewer2   专项工作委员会 committee   管理员 admin")
