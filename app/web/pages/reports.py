"""The 督查通报 (weekly or monthly district bulletin) from the dashboard, for the bureau and the committee.

Issuing a bulletin numbers a document, so it is a POST (with the CSRF token); the same figures of
the same period give back the same notice. The browser is then sent to the notice's PDF.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.web.deps import CsrfChecked, SessionDep, WebDep
from app.web.security import SignedIn
from cases.errors import InvalidInput, NotAllowed
from workflow.spec import Role

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

PERIODS = {"week": "本周", "month": "本月"}
READERS = (Role.REVIEWER, Role.COMMITTEE, Role.ADMIN)


def can_issue_bulletin(role: str) -> bool:
    return role in READERS


def _bulletin(session: Session, web: Any, signed: SignedIn, form: FormData) -> Response:
    from cases.notices.report import issue_bulletin

    if not can_issue_bulletin(signed.user.role):
        raise NotAllowed("只有区教育局和专项工作委员会可以下载督查通报",
                         "only the bureau and the committee can download the bulletin")
    period = str(form.get("period", ""))
    if period not in PERIODS:
        raise InvalidInput("通报周期须为本周（week）或本月（month）", "the period must be week or month")
    try:
        notice = issue_bulletin(session, web.district, period, today=web.today())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _LOGGER.info("bulletin %s for %s by %s", notice.number, period, signed.user.name)
    return RedirectResponse(f"/notices/{notice.id}/pdf", status_code=303)


@router.post("/reports/bulletin")
async def bulletin(request: Request, signed: CsrfChecked, session: SessionDep, web: WebDep) -> Response:
    form = await request.form()
    return await run_in_threadpool(_bulletin, session, web, signed, form)
