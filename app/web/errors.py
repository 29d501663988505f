"""The one mapping of domain errors to HTTP: status codes, the JSON error body and the error page.

InvalidInput → 400, NotAllowed → 403, NotFound → 404, Conflict → 409, everywhere. The JSON API
answers `{"error": {"zh", "en", "allowed"}}`; pages show the same message in Chinese.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from cases.errors import Conflict, InvalidInput, NotAllowed, NotFound, TuoyouError
from cases.validation import LIMITS

_LOGGER = logging.getLogger(__name__)


class Unavailable(TuoyouError):
    """A part of the system is not available (e.g. PDF rendering); answered with 503."""


STATUS: dict[type[TuoyouError], int] = {
    Unavailable: 503,
    InvalidInput: 400,
    NotAllowed: 403,
    NotFound: 404,
    Conflict: 409,
}

HTTP_ZH: dict[int, tuple[str, str]] = {
    400: ("请求有误", "bad request"),
    401: ("请先登录", "authentication required"),
    403: ("无权执行此操作", "forbidden"),
    404: ("页面或记录不存在", "not found"),
    405: ("不支持该请求方式", "method not allowed"),
    409: ("记录已被他人修改", "conflict"),
    413: ("上传内容过大", "request body too large"),
    500: ("系统内部错误，请稍后重试", "internal server error"),
    503: ("服务暂不可用", "service unavailable"),
}


class LoginRequired(Exception):
    """A page needs a signed-in browser; the handler sends the browser to the sign-in page."""


class ApiUnauthorized(Exception):
    """An API call without a valid bearer token."""


class CsrfRejected(Exception):
    """A form was posted without the session's CSRF token."""


def status_for(exc: TuoyouError) -> int:
    """The HTTP status of a domain error (the nearest mapped class; 400 for anything else)."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_body(zh: str, en: str, allowed: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"zh": zh, "en": en, "allowed": allowed if allowed is not None else []}}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def api_error(status: int, zh: str, en: str, allowed: list[str] | None = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(zh, en, allowed), status_code=status, headers=headers)


def error_page(request: Request, status: int, zh: str, en: str, allowed: list[str] | None = None) -> Response:
    from app.web.render import render
    from cases.queries import rectification_engine

    eng = rectification_engine()  # pages name actions and states in Chinese
    names = [eng.spec.trigger_zh(a) if a in eng.spec.triggers else eng.state_zh(a) for a in allowed or []]
    return render(request, "error.html", {"status": status, "zh": zh, "en": en, "allowed": names},
                  status_code=status)


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    """The bilingual message of a refused request, in the words of `cases.validation` where it has them."""
    zh_parts, en_parts = [], []
    for err in exc.errors()[:5]:
        path = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form")]
        loc = ".".join(path)
        field = path[-1] if path else ""
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        limit = LIMITS.get(field)
        if err.get("type") == "string_too_long" and limit is not None:
            zh_parts.append(f"{limit.zh}过长（上限 {limit.max} 个字符）")
            en_parts.append(f"{limit.en} is too long (the limit is {limit.max} characters)")
        elif err.get("type") == "extra_forbidden":
            zh_parts.append(f"不认识的字段 {loc}")
            en_parts.append(f"unknown field {loc}")
        elif err.get("type") == "missing":
            zh_parts.append(f"缺少字段 {loc}")
            en_parts.append(f"missing field {loc}")
        else:
            zh_parts.append(f"{loc}: {msg}" if loc else msg)
            en_parts.append(f"{loc}: {msg}" if loc else msg)
    return f"输入有误：{'；'.join(zh_parts)}", f"invalid input: {'; '.join(en_parts)}"


def install(app: FastAPI) -> None:
    """Register the handlers: one place where errors become responses."""

    @app.exception_handler(TuoyouError)
    async def domain_error(request: Request, exc: TuoyouError) -> Response:
        status = status_for(exc)
        if is_api(request):
            return api_error(status, exc.zh, exc.en, exc.allowed)
        return error_page(request, status, exc.zh, exc.en, exc.allowed)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        expired = ""
        if request.method == "POST":
            page, kept = await _keep_expired_form(request)
            target = page or _get_page(request.url.path)  # never the POST-only address
            expired = "&expired=1" if kept else "&expired=0"
        return RedirectResponse(f"/login?next={quote(target, safe='')}{expired}", status_code=303)

    @app.exception_handler(ApiUnauthorized)
    async def api_unauthorized(request: Request, exc: ApiUnauthorized) -> Response:
        return api_error(401, "须提供有效的 API 令牌（Authorization: Bearer …，由 tuoyou user token 生成）",
                         "a valid bearer token is required (see `tuoyou user token`)",
                         headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, exc: CsrfRejected) -> Response:
        page = await _keep_stale_form(request)
        if page is not None:
            return RedirectResponse(page, status_code=303)
        return error_page(request, 403, "表单已失效（安全校验未通过），请返回刷新页面后重试",
                          "the form's CSRF token is missing or stale; reload the page and retry")

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        zh, en = _validation_message(exc)
        if is_api(request):
            return api_error(400, zh, en)
        return error_page(request, 400, zh, en)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405 and request.method in ("GET", "HEAD") and not is_api(request):
            # a form's address (e.g. /cases/12/do) reloaded or bookmarked: go to its page
            return RedirectResponse(_get_page(request.url.path), status_code=303)
        zh, en = HTTP_ZH.get(exc.status_code, ("请求未能完成", "request failed"))
        if isinstance(exc.detail, str) and exc.detail and exc.status_code not in (404, 405):
            en = exc.detail
        if is_api(request):
            return api_error(exc.status_code, zh, en, headers=getattr(exc, "headers", None))
        return error_page(request, exc.status_code, zh, en)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> Response:
        # a value the database cannot hold (out of range, NUL) that no check caught first: the input's fault
        _LOGGER.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
        zh, en = "输入的值超出允许范围或含有不允许的字符", "a value is out of range or contains characters not allowed"
        if is_api(request):
            return api_error(400, zh, en)
        return error_page(request, 400, zh, en)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        _LOGGER.exception("unhandled error on %s %s", request.method, request.url.path)
        zh, en = HTTP_ZH[500]
        if is_api(request):
            return api_error(500, zh, en)
        return error_page(request, 500, zh, en)


# -- forms that arrive when they cannot be acted on ------------------------------------------


# Forms posted to an address whose parent is no page: the page each form is on.
FORM_HOMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/complaints/[^/]+/reply$"), "/complaints"),  # the reply form is on the 12345 page
    (re.compile(r"^/reports/bulletin$"), "/dashboard"),  # the 督查通报 form is on the dashboard
)


def _get_page(path: str) -> str:
    """The page to show for a form's address: the page the form belongs to, else the nearest parent.

    (A 送达 form's address, /notices/<id>/deliver, has its own GET: its page is its notice's case.)
    """
    from app.web.drafts import page_for

    page = page_for(path)
    if page is not None:
        return page
    for pattern, home in FORM_HOMES:
        if pattern.match(path):
            return home
    if path in ("/logout", "/login"):
        return "/"
    if path.startswith(("/notices/", "/api/")):
        return "/"
    if path.startswith("/inbox"):
        return "/inbox"
    parent = path.rstrip("/").rsplit("/", 1)[0]
    return parent or "/"


async def _keep_expired_form(request: Request) -> tuple[str | None, bool]:
    """A form posted after its session ended: keep it as its user's draft; (its page, kept?)."""
    from fastapi.concurrency import run_in_threadpool
    from sqlmodel import Session

    from app.web import drafts
    from app.web.security import CSRF_FIELD, SESSION_COOKIE

    if is_api(request):
        return None, False
    try:
        form = await request.form(max_files=40)
    except Exception:  # a body that is not a form: nothing to keep
        _LOGGER.info("expired POST to %s without a readable form", request.url.path)
        return drafts.page_for(request.url.path), False
    page = drafts.page_for(request.url.path, str(form.get("back") or ""))
    if page is None:
        return None, False
    web = request.app.state.web

    def keep() -> bool:
        with Session(web.engine, expire_on_commit=False) as session:
            user = drafts.owner_of_form(session, token=request.cookies.get(SESSION_COOKIE),
                                        csrf=str(form.get(CSRF_FIELD) or ""))
            if user is None:
                return False
            return drafts.keep_posted(session, user=user, page=page, form=form, data_dir=web.data_dir,
                                      now=web.now(), message=drafts.EXPIRED_ZH)

    return page, await run_in_threadpool(keep)


async def _keep_stale_form(request: Request) -> str | None:
    """A signed-in user's form from an earlier session (another tab signed in anew): keep it, give its page."""
    from fastapi.concurrency import run_in_threadpool
    from sqlmodel import Session

    from app.web import drafts
    from app.web.security import CSRF_FIELD

    browser = getattr(request.state, "browser", None)
    if browser is None or is_api(request):
        return None
    form = await request.form(max_files=40)
    page = drafts.page_for(request.url.path, str(form.get("back") or ""))
    if page is None:
        return None
    web = request.app.state.web

    def keep() -> bool:
        with Session(web.engine, expire_on_commit=False) as session:
            if not drafts.owner_by_csrf(session, user=browser.user, csrf=str(form.get(CSRF_FIELD) or "")):
                return False
            return drafts.keep_posted(session, user=browser.user, page=page, form=form, data_dir=web.data_dir,
                                      now=web.now(), message=drafts.STALE_FORM_ZH)

    return page if await run_in_threadpool(keep) else None
