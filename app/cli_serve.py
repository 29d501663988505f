"""`tuoyou serve`: run the web app (uvicorn) with the in-process scheduler; `--demo` fills a demo database first.

With `--workers N` (N > 1) uvicorn spawns N worker processes that each build the app from the
environment (`app.web.asgi`); the scheduler then runs once, in the supervising process, never
in the workers (`--no-scheduler` leaves it to separate `tuoyou scheduler run` processes).
"""

from __future__ import annotations

import logging
import os
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
MAX_WORKERS = 64


@handle_errors
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址 / address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8000,
    demo: Annotated[bool, typer.Option("--demo", help="先用演示区县填充一个新的 SQLite 数据库 / fill a fresh "
                                                      "SQLite database with the demo district first")] = False,
    points: Annotated[int, typer.Option("--points", help="演示托幼点数量 / demo points")] = 300,
    scheduler: Annotated[bool, typer.Option("--scheduler/--no-scheduler",
                                            help="同时运行定时任务 / run the in-process scheduler")] = True,
    workers: Annotated[int, typer.Option("--workers", help="网页工作进程数（同一数据库）/ web worker processes "
                                                           "over one database")] = 1,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """启动网页和 JSON API（含定时任务）/ run the web app and JSON API with the in-process scheduler."""
    import uvicorn

    from app.web import create_app

    if not 1 <= workers <= MAX_WORKERS:
        raise InvalidInput(f"--workers 须在 1 到 {MAX_WORKERS} 之间", f"--workers must be 1 to {MAX_WORKERS}")
    if demo and db is None:
        db = f"sqlite:///{DEMO_DB}"
    ctx = open_context(db, config, create=True)
    if demo:
        _fill_demo(ctx, points)
    else:
        init_database(ctx.engine, ctx.district)
    if workers > 1:
        _serve_workers(ctx, host=host, port=port, workers=workers, scheduler=scheduler)
        return
    app = create_app(engine=ctx.engine, district=ctx.district, settings=ctx.settings, start_scheduler=scheduler,
                     config_path=ctx.config_path)
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    typer.echo(f"托幼点整治网页已启动：http://{shown}:{port}/ （Ctrl+C 停止）/ serving on http://{host}:{port}/")
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=False)


def _serve_workers(ctx: AppContext, *, host: str, port: int, workers: int, scheduler: bool) -> None:
    """Several uvicorn workers on one database; the scheduler (if any) runs here, in the supervisor, once."""
    import uvicorn

    url = ctx.engine.url.render_as_string(hide_password=False)
    # the spawned workers read these (app.web.asgi): the same database, district and data folder
    os.environ["TUOYOU_DATABASE_URL"] = url
    if ctx.config_path:
        os.environ["TUOYOU_CONFIG"] = str(Path(ctx.config_path).resolve())
    os.environ["TUOYOU_DATA_DIR"] = str(Path(ctx.settings.data_dir).resolve())
    ctx.engine.dispose()  # no pooled connection of this process is inherited or kept open needlessly
    stop = None
    if scheduler:
        from scheduler.runner import start_background, stop_background

        sched = start_background(url, ctx.config_path)
        stop = lambda: stop_background(sched)  # noqa: E731
    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
    where = "调度器在主进程中运行" if scheduler else "调度器未启动（请另行运行 tuoyou scheduler run）"
    typer.echo(f"托幼点整治网页已启动：http://{shown}:{port}/ （{workers} 个工作进程，{where}；Ctrl+C 停止）"
               f" / serving on http://{host}:{port}/ with {workers} workers")
    try:
        uvicorn.run("app.web.asgi:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="info", proxy_headers=False)
    finally:
        if stop is not None:
            stop()


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
