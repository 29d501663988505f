"""The administrator's user page: who may sign in, who is locked out, and disabling, enabling, unlocking.

Only admins see it. Disabling ends the user's browser sessions and revokes the API token at
once (as `tuoyou user disable`); unlocking lifts a sign-in lock-out (as `tuoyou user unlock`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, func, select

from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.render import render
from cases.errors import NotAllowed, NotFound
from cases.models import Township, User, WebSession
from cases.users import disable_user, enable_user, unlock_user
from workflow.spec import Role

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

ACTIONS = {"disable": (disable_user, "已停用 {name}：其会话和 API 令牌已失效"),
           "enable": (enable_user, "已启用 {name}（须重新生成 API 令牌）"),
           "unlock": (unlock_user, "已解除 {name} 的登录锁定")}


@dataclass(frozen=True)
class UserRow:
    name: str
    display_name: str
    role: str
    township: str
    active: bool
    locked_until: datetime | None
    sessions: int
    has_token: bool


def _admin(user: User) -> User:
    if user.role != Role.ADMIN:
        raise NotAllowed("只有系统管理员可以管理用户", "only administrators manage users")
    return user


def user_rows(session: Session, now: datetime) -> list[UserRow]:
    towns = {t.id: t.name for t in session.exec(select(Township)).all()}
    live = dict(session.exec(select(WebSession.user_id, func.count()).where(col(WebSession.expires_at) > now)
                             .group_by(WebSession.user_id)).all())  # type: ignore[call-overload]
    users = session.exec(select(User).where(col(User.role) != Role.SYSTEM.value).order_by(col(User.name))).all()
    return [UserRow(name=u.name, display_name=u.display_name, role=u.role,
                    township=towns.get(u.township_id, "") if u.township_id else "",
                    active=u.active, locked_until=u.locked_until if u.locked_until and u.locked_until > now else None,
                    sessions=int(live.get(u.id, 0)), has_token=bool(u.token_hash))
            for u in users]


@router.get("/admin/users")
def users_page(request: Request, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    _admin(user)
    rows = user_rows(session, web.now())
    # the confirmation is written here from the action's own words, never taken from the address
    action, name = request.query_params.get("done", ""), request.query_params.get("name", "")
    done = ACTIONS[action][1].format(name=name) if action in ACTIONS and name in {r.name for r in rows} else ""
    return render(request, "users.html", {"rows": rows, "done": done})


@router.post("/admin/users/{action}")
def user_action(action: str, name: Annotated[str, Form(max_length=200)], signed: CsrfChecked,
                session: SessionDep) -> Response:
    _admin(signed.user)
    if action not in ACTIONS:
        raise NotFound("没有该操作", f"no action {action}")
    if action == "disable" and name == signed.user.name:
        raise NotAllowed("不能停用自己的账户", "you cannot disable your own account")
    fn, _message = ACTIONS[action]
    target = fn(session, name)
    _LOGGER.warning("admin %s: %s %s", signed.user.name, action, target.name)
    from urllib.parse import urlencode

    return RedirectResponse(f"/admin/users?{urlencode({'done': action, 'name': target.name})}", status_code=303)
