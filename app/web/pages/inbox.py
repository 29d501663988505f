"""The inbox: the signed-in user's in-app messages (reminders, supervision, decisions), and marking them read."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.web import views
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.render import render

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])


@router.get("/inbox")
def inbox(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    unread: Annotated[bool, Query()] = False,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    result = views.inbox(session, user=user, unread_only=unread, kind=kind or None, page=page)
    return render(request, "inbox.html", {
        "page": result, "unread_only": unread, "kind": kind or "",
        "kinds": {k: zh for k, (zh, _) in views.MESSAGE_KINDS.items()},
        "kind_of": views.message_kind,
    })


@router.post("/inbox/{message_id}/read")
def read_one(message_id: Annotated[int, Path(ge=1, le=2**62)], signed: CsrfChecked, session: SessionDep,
             web: WebDep) -> Response:
    views.mark_read(session, user=signed.user, message_id=message_id, now=web.now())
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/read-all")
def read_all(signed: CsrfChecked, session: SessionDep, web: WebDep) -> Response:
    views.mark_read(session, user=signed.user, message_id=None, now=web.now())
    return RedirectResponse("/inbox", status_code=303)
