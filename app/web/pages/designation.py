"""The township's application for an estate kindergarten's nature (小区配套园办园性质认定): open the case;
it then moves on the case page like every case (apply, review, approve, send back, withdraw).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.web import drafts, views
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.render import render
from cases.errors import NotAllowed, TuoyouError
from cases.models import User
from cases.service import open_case
from workflow.registry import current

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])
FORM_CAP = 20_000


def _form(request: Request, session: Session, user: User, *, values: dict[str, str] | None = None,
          error: TuoyouError | None = None) -> Response:
    spec = current("designation")
    if user.role not in spec.openers:
        raise NotAllowed("只有镇街负责人可以发起小区配套园办园性质认定", f"role {user.role} cannot open designations")
    return render(request, "designation_new.html", {
        "townships": views.townships(session, user), "values": values or {}, "error": error, "spec": spec,
    })


NEW_PAGE = "/designation/new"


@router.get("/designation/new")
def new_designation(request: Request, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    draft = drafts.restore(session, user=user, page=NEW_PAGE, data_dir=web.data_dir, now=web.now())
    return _form(request, session, user, values=draft.values,
                 error=TuoyouError(draft.message) if draft.message else None)


@router.post("/designation/new")
def open_designation(
    request: Request,
    signed: CsrfChecked,
    session: SessionDep,
    web: WebDep,
    name: Annotated[str, Form(max_length=FORM_CAP)] = "",
    township: Annotated[str, Form(max_length=FORM_CAP)] = "",
    address: Annotated[str, Form(max_length=FORM_CAP)] = "",
) -> Response:
    user = signed.user
    try:
        case = open_case(session=session, district=web.district, actor=user, name=name, township_code=township,
                         address=address, operator="", source="estate", workflow="designation", now=web.now())
    except TuoyouError as exc:  # back to the form at its own address, filled in (post/redirect/get)
        session.rollback()
        assert user.id is not None
        drafts.save(session, user_id=user.id, page=NEW_PAGE, values={"name": name, "township": township,
                                                                     "address": address},
                    now=web.now(), message=exc.zh, status="error")
        return RedirectResponse(NEW_PAGE, status_code=303)
    _LOGGER.info("designation case %s opened by %s", case.id, user.name)
    return RedirectResponse(f"/cases/{case.id}", status_code=303)
