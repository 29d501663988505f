"""What every face needs to start: settings, the district, the database engine; and the one
place where domain errors become CLI exit codes and bilingual messages on stderr.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from cases.config import District, Settings, cached_district
from cases.db import engine_for_url
from workflow.errors import TuoyouError

_LOGGER = logging.getLogger(__name__)

DbOpt = Annotated[
    str | None,
    typer.Option("--db", help="数据库 URL（默认 TUOYOU_DATABASE_URL 或 sqlite:///tuoyou.db）/ database URL"),
]
ConfigOpt = Annotated[
    str | None,
    typer.Option("--config", help="区县配置 TOML（默认 TUOYOU_CONFIG 或内置演示区县）/ district config file"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="输出 JSON / print one JSON document")]


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    district: District
    engine: Engine
    config_path: str | None


def open_context(db: str | None = None, config: str | None = None) -> AppContext:
    """Settings from the environment, overridden by `--db` / `--config`."""
    settings = Settings()
    url = db or settings.database_url
    config_path = config or settings.config
    return AppContext(settings=settings, district=cached_district(config_path),
                      engine=engine_for_url(url), config_path=config_path)


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def print_json(obj: Any) -> None:
    """One JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=_default) + "\n")


P = ParamSpec("P")
R = TypeVar("R")


def fail(exc: TuoyouError) -> typer.Exit:
    """Say why on stderr (Chinese with the English beside it) and exit with the error's code."""
    lines = [f"错误：{exc.zh}", f"error: {exc.en}"]
    if exc.allowed is not None:
        now = "、".join(exc.allowed) if exc.allowed else "（无 / none）"
        lines.append(f"当前可执行的操作 / allowed now: {now}")
    typer.echo("\n".join(lines), err=True)
    return typer.Exit(exc.exit_code)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Map domain errors (and an unreachable database) to exit codes, once for every command."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except TuoyouError as exc:
            raise fail(exc) from None
        except OperationalError as exc:
            typer.echo(f"错误：数据库不可用或未初始化（请先运行 tuoyou init）\nerror: database unavailable "
                       f"or not initialised (run `tuoyou init`): {exc.orig}", err=True)
            raise typer.Exit(6) from None

    return wrapper
