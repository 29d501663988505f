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
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DataError, NoSuchModuleError, OperationalError, ProgrammingError

from cases.config import District, Settings, cached_district
from cases.db import engine_for_url, normalize_url
from cases.errors import InvalidInput
from cases.validation import for_terminal
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
AsOpt = Annotated[str, typer.Option("--as", help="以哪个用户的身份 / acting user name")]
ViewAsOpt = Annotated[str | None, typer.Option("--as", help="以该用户的辖区查看 / as this user")]


def viewer(session: Any, as_user: str | None) -> Any:
    """The user whose scope a listing uses; without --as, the operator sees the whole district."""
    from cases.models import User
    from cases.users import get_user

    return get_user(session, as_user) if as_user else User(name="cli", role="admin")


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    district: District
    engine: Engine
    config_path: str | None


class DatabaseMissing(TuoyouError):
    """The database does not exist or is not initialised (exit 6, like an unreachable database)."""

    exit_code = 6


def check_database_url(url: str, *, create: bool = False) -> str:
    """The URL if SQLAlchemy knows its kind; a SQLite file must already exist unless `create`.

    Commands other than `init`, `demo` and `serve` never create a database: a mistyped
    `--db sqlite:///missing.db` must say so instead of leaving an empty file behind.
    """
    shown = for_terminal(url)
    try:
        parsed = make_url(normalize_url(url))
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError, ImportError) as exc:
        raise InvalidInput(f"数据库 URL 无效：{shown}（应如 sqlite:///tuoyou.db 或 postgresql://user@host/db）",
                           f"invalid database URL {shown} (e.g. sqlite:///tuoyou.db or postgresql://user@host/db):"
                           f" {for_terminal(exc)}") from None
    if parsed.get_backend_name() == "sqlite" and not create:
        path = parsed.database or ""
        if path and path != ":memory:" and not path.startswith("file:") and not Path(path).is_file():
            raise DatabaseMissing(f"数据库 {for_terminal(path)} 不存在（请先运行 tuoyou init --db {shown}）",
                                  f"database {for_terminal(path)} does not exist (run `tuoyou init --db {shown}`)")
    return url


def open_context(db: str | None = None, config: str | None = None, *, create: bool = False) -> AppContext:
    """Settings from the environment, overridden by `--db` / `--config`; `create` for init, demo, serve."""
    try:
        settings = Settings()
    except ValueError as exc:  # e.g. production without TUOYOU_SECRET_KEY
        detail = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in getattr(exc, "errors", list)())
        detail = detail or str(exc)
        raise InvalidInput(f"环境变量设置有误：{detail}", f"invalid TUOYOU_* settings: {detail}") from None
    config_path = config or settings.config
    district = cached_district(config_path)  # the district file is checked first
    url = check_database_url(db or settings.database_url, create=create)
    return AppContext(settings=settings, district=district, engine=engine_for_url(url), config_path=config_path)


def _default(o: Any) -> Any:
    if isinstance(o, datetime | date):
        return o.isoformat()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# JSON escapes C0 controls itself; C1 controls (e.g. U+009B, a CSI to some terminals) and bidirectional
# overrides are written as \\u escapes too, so the document is the same data and safe on a terminal
_JSON_UNSAFE = {i: f"\\u{i:04x}" for i in (*range(0x7f, 0xa0), 0x202a, 0x202b, 0x202c, 0x202d, 0x202e,
                                          0x2066, 0x2067, 0x2068, 0x2069)}


def print_json(obj: Any) -> None:
    """One JSON document on stdout, nothing else."""
    text = json.dumps(obj, ensure_ascii=False, indent=2, default=_default).translate(_JSON_UNSAFE)
    sys.stdout.write(text + "\n")


P = ParamSpec("P")
R = TypeVar("R")


def _trigger_named(trigger: str) -> str:
    """A trigger id with its Chinese name beside it (order_rectification 责令整改)."""
    from cases.queries import rectification_engine

    zh = rectification_engine().spec.trigger_zh(trigger)
    return f"{trigger} {zh}" if zh != trigger else trigger


def fail(exc: TuoyouError) -> typer.Exit:
    """Say why on stderr (Chinese with the English beside it) and exit with the error's code."""
    lines = [f"错误：{for_terminal(exc.cli_zh)}", f"error: {for_terminal(exc.en)}"]
    if exc.allowed is not None:
        now = "、".join(_trigger_named(a) for a in exc.allowed) if exc.allowed else "（无 / none）"
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
        except DataError as exc:  # a value the database cannot hold that no check caught first
            _LOGGER.info("database refused a value: %s", exc.orig)
            raise fail(InvalidInput("输入的值超出数据库允许的范围或含有不允许的字符",
                                    f"a value is out of range or contains characters the database refuses: "
                                    f"{for_terminal(exc.orig)}")) from None
        except (OperationalError, ProgrammingError) as exc:
            if isinstance(exc, ProgrammingError) and "does not exist" not in str(exc.orig):
                raise
            typer.echo(f"错误：数据库不可用或未初始化（请先运行 tuoyou init）\nerror: database unavailable "
                       f"or not initialised (run `tuoyou init`): {for_terminal(exc.orig)}", err=True)
            raise typer.Exit(6) from None

    return wrapper
