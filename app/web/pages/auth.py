"""Signing in and out, and the home page that sends each role to its own start page."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.web.deps import Browser, CsrfChecked, OptionalBrowser, SessionDep, WebDep
from app.web.drafts import EXPIRED_ZH
from app.web.errors import CsrfRejected
from app.web.render import render
from app.web.security import (
    LOCK_MINUTES,
    LOGIN_CSRF_COOKIE,
    MAX_FAILED_LOGINS,
    SESSION_COOKIE,
    SESSION_HOURS,
    create_session,
    end_session,
    new_csrf_token,
    safe_next,
    same_token,
    sign_in,
)
from workflow.spec import Role

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

HOME = {Role.INSPECTOR: "/worklist", Role.LEAD: "/dashboard", Role.REVIEWER: "/queue",
        Role.COMMITTEE: "/dashboard", Role.ADMIN: "/dashboard"}


def _secure(request: Request, web: WebDep) -> bool:
    return request.url.scheme == "https" or web.settings.environment == "production"


def _login_page(request: Request, web: WebDep, *, next_url: str, error: str = "", name: str = "",
                status_code: int = 200, expired: str = "") -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_csrf_token()
    notice = {"1": EXPIRED_ZH, "0": "登录已过期，请重新登录"}.get(expired, "")
    response = render(request, "login.html", {"login_csrf": token, "next": next_url, "error": error, "name": name,
                                              "notice": notice, "expired": expired if notice else ""},
                      status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request, web),
                        max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request, web: WebDep, signed: OptionalBrowser, next: str = "/", expired: str = "") -> Response:
    if signed is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, web, next_url=safe_next(next), expired=expired[:1])


@router.post("/login")
def login(
    request: Request,
    web: WebDep,
    session: SessionDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
    expired: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        raise CsrfRejected()
    now = web.now()
    result = sign_in(session, name, password, now=now)
    if result.user is None:
        # one answer for a wrong password, an unknown name and a locked account: nothing tells which
        error = (f"用户名或密码错误，或账户因连续 {MAX_FAILED_LOGINS} 次登录失败已被暂时锁定"
                 f"（{LOCK_MINUTES} 分钟后再试，或请管理员解锁）")
        _LOGGER.info("failed sign-in for %r", name)
        return _login_page(request, web, next_url=safe_next(next), error=error, name=name, status_code=401,
                           expired=expired)
    token = create_session(session, result.user, now=now, user_agent=request.headers.get("user-agent", ""))
    _LOGGER.info("user %s signed in", result.user.name)
    target = safe_next(next)
    if target == "/":
        target = HOME.get(Role(result.user.role), "/dashboard")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request, web),
                        max_age=SESSION_HOURS * 3600, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(signed: CsrfChecked, session: SessionDep) -> Response:
    end_session(session, signed.session_id)
    _LOGGER.info("user %s signed out", signed.user.name)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home(signed: Browser) -> Response:
    return RedirectResponse(HOME.get(Role(signed.user.role), "/dashboard"), status_code=303)
