"""Service (送达) from the case page: record how, when and to whom a notice was served.

One form per unserved notice (templates/web/_deliver.html); a refused service goes back to the
case page with the error and what was typed (kept as a draft), a recorded one redirects back too
(post/redirect/get). The form names its case page (`back`), so a form posted after the session
ended is kept as a draft of that page as well; its address opened by GET (reloaded, bookmarked,
shared) leads to that case page.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.web import drafts
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.errors import status_for
from app.web.security import SignedIn
from cases.errors import InvalidInput, NotFound, TuoyouError
from cases.models import Notice, User
from cases.queries import get_case
from cases.serving import deliver
from cases.validation import in_id_range, parse_date

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

NoticeId = Annotated[int, Path(ge=1, le=2**62)]


def _served_on(text: str) -> date:
    day = parse_date(text, "served_on")  # the one policy: exactly YYYY-MM-DD
    if day is None:
        raise InvalidInput("请填写送达日期（年-月-日）", "the service date must be a date (YYYY-MM-DD)")
    return day


def _notice_case(session: Session, user: User, notice_id: int) -> tuple[Notice, int]:
    """The notice and its case, if the user may see that case; otherwise not found (naming no case)."""
    missing = NotFound(f"找不到文书 {notice_id}", f"no notice {notice_id}")
    notice = session.get(Notice, notice_id) if in_id_range(notice_id) else None
    if notice is None or notice.case_id is None:
        raise missing
    try:
        get_case(session, user=user, case_id=notice.case_id)  # scope: another township's case is not found
    except NotFound:  # the same answer as for no notice at all, without naming the case
        raise missing from None
    return notice, notice.case_id


def _deliver(request: Request, session: Session, web: Any, signed: SignedIn, notice_id: int,
             form: FormData) -> Response:
    user = signed.user
    notice, case_id = _notice_case(session, user, notice_id)
    posted = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    posted["deliver_notice"] = str(notice_id)
    try:
        served = deliver(session=session, district=web.district, number=notice.number,
                         method=str(form.get("method", "")), served_on=_served_on(str(form.get("served_on", ""))),
                         actor=user, recipient=str(form.get("recipient", "")), place=str(form.get("place", "")),
                         now=web.now())
    except TuoyouError as exc:
        _LOGGER.info("notice %s: service refused for %s: %s", notice.number, user.name, exc.en)
        if status_for(exc) == 404:
            raise
        session.rollback()
        assert user.id is not None  # what was typed comes back on the case page, at its own address
        drafts.save(session, user_id=user.id, page=f"/cases/{case_id}", values=posted, now=web.now(),
                    message=exc.zh, status="error", allowed=exc.allowed)
        return RedirectResponse(f"/cases/{case_id}#deliver-{notice_id}", status_code=303)
    return RedirectResponse(f"/cases/{case_id}?served={served.receipt.number}#notices", status_code=303)


@router.get("/notices/{notice_id}/deliver")
def deliver_address(notice_id: NoticeId, user: CurrentUser, session: SessionDep) -> Response:
    """The form's address reloaded or shared: the case page with the notice's 送达 form."""
    _notice, case_id = _notice_case(session, user, notice_id)
    return RedirectResponse(f"/cases/{case_id}#deliver-{notice_id}", status_code=303)


@router.post("/notices/{notice_id}/deliver")
async def deliver_form(request: Request, notice_id: NoticeId, signed: CsrfChecked, session: SessionDep,
                       web: WebDep) -> Response:
    form = await request.form()
    return await run_in_threadpool(_deliver, request, session, web, signed, notice_id, form)
