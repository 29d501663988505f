"""Turning page data into HTML: the Jinja2 environment (autoescaping always on) and its filters.

Dates are shown in Chinese form (2026年11月2日) and times in the district's time zone.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from workflow.spec import ROLE_NAMES, Role

_LOGGER = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parents[2] / "templates" / "web"  # `templates/` sits beside `app/`
STATIC_DIR = WEB_DIR / "static"
WEEKDAYS = "一二三四五六日"


def zh_date(value: date | str | None, weekday: bool = False) -> str:
    """2026年11月2日 (and 星期一 when asked)."""
    if value is None or value == "":
        return "—"
    d = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    if isinstance(d, datetime):
        d = d.date()
    text = f"{d.year}年{d.month}月{d.day}日"
    return f"{text}（星期{WEEKDAYS[d.weekday()]}）" if weekday else text


def zh_datetime(value: datetime | str | None, tz: str = "Asia/Shanghai") -> str:
    """2026年11月2日 10:00 in the district's time zone."""
    if value is None or value == "":
        return "—"
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    if dt.tzinfo is not None:
        dt = dt.astimezone(ZoneInfo(tz))
    return f"{dt.year}年{dt.month}月{dt.day}日 {dt:%H:%M}"


def short_date(value: date | str | None) -> str:
    """11月2日, for narrow columns."""
    if value is None or value == "":
        return "—"
    d = date.fromisoformat(value[:10]) if isinstance(value, str) else value
    return f"{d.month}月{d.day}日"


def role_zh(role: str) -> str:
    try:
        return ROLE_NAMES[Role(role)]
    except ValueError:
        return role


def file_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} B"


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(WEB_DIR)),
        autoescape=True,  # every template, whatever its extension (.html, .svg)
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(zh_date=zh_date, zh_datetime=zh_datetime, short_date=short_date, role_zh=role_zh,
                       file_size=file_size)
    return env


def query_with(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one), for links."""
    params = dict(request.query_params)
    for k, v in changes.items():
        if v is None or v == "":
            params.pop(k, None)
        else:
            params[k] = str(v)
    return "?" + urlencode(params) if params else "?"


def render(request: Request, name: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    """Render a page template with the signed-in user, CSRF token and district around it."""
    state = getattr(request.app.state, "web", None)
    browser = getattr(request.state, "browser", None)
    ctx: dict[str, Any] = {
        "request": request,
        "user": browser.user if browser else None,
        "csrf_token": browser.csrf_token if browser else "",
        "unread": getattr(request.state, "unread", 0),
        "district": state.district if state else None,
        "path": request.url.path,
        "query_with": lambda **kw: query_with(request, **kw),
    }
    ctx.update(context or {})
    html = environment().get_template(name).render(ctx)
    return HTMLResponse(html, status_code=status_code)
