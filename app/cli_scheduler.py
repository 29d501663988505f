"""The scheduler's commands: `tuoyou scheduler tick|run` and `tuoyou inbox` (registered by `app.cli`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlmodel import Session

from app.context import ConfigOpt, DbOpt, JsonOpt, handle_errors, open_context, print_json
from app.output import out
from cases import notify
from cases.config import Settings, cached_district
from cases.errors import InvalidInput
from cases.models import utcnow
from cases.users import get_user
from cases.validation import for_terminal, parse_datetime
from scheduler.jobs import sim_clock
from scheduler.runner import DEFAULT_INTERVAL_MINUTES, DEFAULT_REMINDER_AT, run_blocking
from scheduler.sweeps import sweep

_LOGGER = logging.getLogger(__name__)

scheduler_app = typer.Typer(help="调度：期限提醒、逾期标记、督办升级、消息投递 / scheduler", no_args_is_help=True)
MAX_CLOCK_SPEED = 100_000.0  # a simulated day in under a second


FAR_CLOCK_DAYS = 366


def parse_now(value: str | None, timezone: str, *, allow_far: bool = False, real_now: datetime | None = None
              ) -> datetime:
    """`--now` as an aware UTC datetime; a value without a zone is local time of the district.

    A clock more than `FAR_CLOCK_DAYS` days from the real one is refused unless `allow_far`:
    one sweep at a far date expires, escalates and numbers notices for years at once.
    """
    if value is None:
        return utcnow()
    when = parse_datetime(value, "now", timezone=timezone)
    real = real_now or utcnow()
    days = abs((when - real).days)
    if days > FAR_CLOCK_DAYS:
        if not allow_far:
            raise InvalidInput(
                f"--now {for_terminal(value)} 与当前时间相差 {days} 天（超过 {FAR_CLOCK_DAYS} 天），可能是笔误；"
                "确需按该时间执行，请加 --allow-far-clock",
                f"--now {for_terminal(value)} is {days} days from today (more than {FAR_CLOCK_DAYS}); "
                "add --allow-far-clock if that is meant")
        typer.echo(f"警告：按 {days} 天之外的时间执行调度 / warning: sweeping at a clock {days} days from today",
                   err=True)
    return when


@scheduler_app.command("tick")
@handle_errors
def tick(
    now: Annotated[str | None, typer.Option("--now", help="假定的当前时间 ISO 8601（默认现在，无时区按区县时区）"
                                            " / the clock to sweep at")] = None,
    deliver: Annotated[bool, typer.Option("--deliver/--no-deliver", help="投递消息 / deliver the outbox")] = True,
    allow_far_clock: Annotated[bool, typer.Option(
        "--allow-far-clock", help=f"允许 --now 与今天相差超过 {FAR_CLOCK_DAYS} 天 / allow a --now more than "
                                  f"{FAR_CLOCK_DAYS} days from today")] = False,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """执行一次完整调度：逾期标记、督办升级、期限提醒、消息投递 / one full sweep at --now."""
    ctx = open_context(db, config)
    when = parse_now(now, ctx.district.district.timezone, allow_far=allow_far_clock)
    report = sweep(ctx.engine, ctx.district, when, deliver=deliver)
    if json:
        return print_json(report.as_dict())
    for line in report.lines():
        typer.echo(line)


@scheduler_app.command("run")
@handle_errors
def run(
    interval: Annotated[float, typer.Option("--interval", help="巡检间隔（分钟）/ sweep interval in minutes")]
    = DEFAULT_INTERVAL_MINUTES,
    reminder_at: Annotated[str, typer.Option("--reminder-at", help="每日提醒时间 HH:MM / daily reminder time")]
    = DEFAULT_REMINDER_AT,
    clock_start: Annotated[str | None, typer.Option(
        "--clock-start", help="演练用：模拟时钟的起点 ISO 8601 / drills: start a simulated clock here"
    )] = None,
    clock_speed: Annotated[float | None, typer.Option(
        "--clock-speed", help="演练用：模拟时钟的倍速 / drills: how many times faster the simulated clock runs"
    )] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
) -> None:
    """单独运行调度器，直到收到 SIGTERM/SIGINT / run the scheduler alone until stopped."""
    timezone = cached_district(config or Settings().config).district.timezone  # the options first, then the db
    clock = None
    if clock_start is not None or clock_speed is not None:
        speed = 1.0 if clock_speed is None else clock_speed
        if not 0 < speed <= MAX_CLOCK_SPEED:
            raise InvalidInput(f"--clock-speed 须大于 0 且不超过 {MAX_CLOCK_SPEED:g}",
                               f"--clock-speed must be above 0 and at most {MAX_CLOCK_SPEED:g}")
        try:
            start = parse_now(clock_start, timezone, allow_far=True)  # a drill, and said so
        except InvalidInput:
            raise InvalidInput(f"--clock-start 时间格式应为 ISO 8601（如 2026-10-12T09:00）：{clock_start}",
                               f"--clock-start must be an ISO datetime (e.g. 2026-10-12T09:00): {clock_start}"
                               ) from None
        clock = sim_clock(start, speed)
        typer.echo(f"模拟时钟：从 {start.isoformat()} 起，{speed:g} 倍速（仅供演练）"
                   f" / simulated clock from {start.isoformat()} at {speed:g}x (drills only)", err=True)
    ctx = open_context(db, config)
    url = db or ctx.settings.database_url
    for name in ("scheduler", "cases.supervision"):
        logging.getLogger(name).setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"调度器已启动：每 {interval:g} 分钟巡检，每日 {reminder_at} 发送期限提醒；Ctrl-C 停止"
               f" / scheduler running: sweep every {interval:g} min, reminders at {reminder_at}", err=True)
    try:
        run_blocking(url, ctx.config_path, interval_minutes=interval, reminder_at=reminder_at, clock=clock)
    except ValueError as exc:
        raise InvalidInput(f"参数有误：{exc}", str(exc)) from None
    typer.echo("调度器已停止 / scheduler stopped", err=True)


@handle_errors
def inbox(
    as_user: Annotated[str, typer.Option("--as", help="以哪个用户的身份 / whose inbox")],
    unread: Annotated[bool, typer.Option("--unread", help="只看未读 / unread only")] = False,
    mark_read: Annotated[bool, typer.Option("--mark-read", help="列出后标为已读 / mark the listed ones read")] = False,
    limit: Annotated[int, typer.Option("--limit", help="最多条数 / at most this many")] = 50,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json: JsonOpt = False,
) -> None:
    """站内消息，最新在前 / the user's inbox, newest first."""
    ctx = open_context(db, config)
    tz = ZoneInfo(ctx.district.district.timezone)
    with Session(ctx.engine) as s:
        user = get_user(s, as_user)
        assert user.id is not None
        msgs = notify.inbox(s, user_id=user.id, unread_only=unread, limit=limit)
        rows = [{"id": m.id, "at": m.created_at.astimezone(tz).isoformat(), "status": m.status,
                 "case_id": m.case_id, "subject": m.subject, "body": m.body} for m in msgs]
        if mark_read and rows:
            notify.mark_read(s, user_id=user.id, ids=[r["id"] for r in rows if r["status"] == "unread"])
    if json:
        return print_json(rows)
    unread_n = sum(1 for r in rows if r["status"] == "unread")
    table = Table("#", "时间 at", "状态", "案件 case", "主题 subject",
                  title=f"{as_user} 的消息：{len(rows)} 条，未读 {unread_n} / {len(rows)} messages, {unread_n} unread")
    for r in rows:
        table.add_row(str(r["id"]), r["at"][:16].replace("T", " "), "未读" if r["status"] == "unread" else "已读",
                      str(r["case_id"] or "—"), r["subject"])
    out.print(table)
