"""Named dependencies of the routes: the database session, the district, the clock and who is asking.

`CurrentUser` / `Browser` need a signed-in browser (else the sign-in page), `CsrfChecked` also
checks the posted form's CSRF token, and `ApiUser` needs a bearer token from `tuoyou user token`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from app.web.errors import ApiUnauthorized, CsrfRejected, LoginRequired
from app.web.security import CSRF_FIELD, SESSION_COOKIE, SignedIn, same_token, session_user
from cases.config import District, Settings
from cases.models import Message, User
from cases.service import local_today
from cases.users import user_for_token
from workflow.workdays import WorkCalendar

_LOGGER = logging.getLogger(__name__)


@dataclass
class WebState:
    """What the whole app shares: database, district, settings, where files live, and the clock."""

    engine: Engine
    district: District
    settings: Settings
    data_dir: Path
    clock: Callable[[], datetime]
    calendar: WorkCalendar = field(init=False)

    def __post_init__(self) -> None:
        self.calendar = self.district.work_calendar()

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return local_today(self.district, self.clock())


def get_web(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


WebDep = Annotated[WebState, Depends(get_web)]


def get_session(web: WebDep) -> Iterator[Session]:
    with Session(web.engine, expire_on_commit=False) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_district(web: WebDep) -> District:
    return web.district


DistrictDep = Annotated[District, Depends(get_district)]


# -- browsers --------------------------------------------------------------------------------


def unread_count(session: Session, user_id: int | None) -> int:
    q = select(func.count()).select_from(Message).where(
        Message.user_id == user_id, Message.channel == "inbox", sa.column("status") != "read")
    return int(session.exec(q).one())


def optional_browser(request: Request, session: SessionDep, web: WebDep) -> SignedIn | None:
    """The signed-in browser, or None; remembered on the request for the page layout."""
    browser = session_user(session, request.cookies.get(SESSION_COOKIE), now=web.now())
    request.state.browser = browser
    if browser is not None:
        request.state.unread = unread_count(session, browser.user.id)
    return browser


OptionalBrowser = Annotated[SignedIn | None, Depends(optional_browser)]


def browser(signed: OptionalBrowser) -> SignedIn:
    if signed is None:
        raise LoginRequired()
    return signed


Browser = Annotated[SignedIn, Depends(browser)]


def current_user(signed: Browser) -> User:
    return signed.user


CurrentUser = Annotated[User, Depends(current_user)]


async def csrf_checked(request: Request, signed: Browser) -> SignedIn:
    """The signed-in browser, after checking the posted form carries its session's CSRF token."""
    form = await request.form()
    if not same_token(str(form.get(CSRF_FIELD) or ""), signed.csrf_token):
        _LOGGER.warning("CSRF token refused for user %s on %s", signed.user.name, request.url.path)
        raise CsrfRejected()
    return signed


CsrfChecked = Annotated[SignedIn, Depends(csrf_checked)]


# -- API clients -----------------------------------------------------------------------------


def api_user(request: Request, session: SessionDep) -> User:
    """The user behind `Authorization: Bearer <token>`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiUnauthorized()
    user = user_for_token(session, token.strip())
    if user is None:
        raise ApiUnauthorized()
    return user


ApiUser = Annotated[User, Depends(api_user)]
