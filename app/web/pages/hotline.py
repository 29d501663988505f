"""The 12345 接诉即办 page: the 工单 of the user's scope with what to answer the hotline and by when,
a form to take a 工单 in, and one to record the reply. Every change goes through `cases.complaints`.
"""

from __future__ import annotations

import logging
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.web import views
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.errors import status_for
from app.web.render import render
from cases.complaints import OUTCOME_ZH, add_complaint, list_complaints, reply_complaint
from cases.errors import InvalidInput, TuoyouError
from cases.models import User
from cases.queries import get_case, sees_all
from cases.validation import check_id

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

FORM_CAP = 20_000  # what is read at all; the fields are checked by the one input policy
STATUS_FILTERS = {"": "全部", "open": "待答复", "overdue": "逾期未答复", "replied": "已答复"}
TAKERS = ("inspector", "lead", "reviewer")  # who takes 工单 in and answers the hotline


def _page(request: Request, session: Session, web: WebDep, user: User, *, status: str = "",
          values: dict[str, str] | None = None, error: TuoyouError | None = None, done: str = "",
          replied: bool = False) -> Response:
    rows = list_complaints(session, web.district, user=user, status=status or None, today=web.today())
    if done:  # after a redirect: say what was done to which 工单 (read back, never echoed from the address)
        row = next((r for r in list_complaints(session, web.district, user=user, today=web.today())
                    if r.number == done), None)
        done = "" if row is None else (f"工单 {row.number} 已答复" if replied else
                                       f"工单 {row.number} 已受理：{OUTCOME_ZH[row.outcome]}，案件 #{row.case_id}，"
                                       f"请于{row.reply_due.month}月{row.reply_due.day}日前答复热线")
    return render(request, "complaints.html", {
        "rows": rows, "status": status, "filters": STATUS_FILTERS, "outcome_zh": OUTCOME_ZH,
        "can_take": user.role in TAKERS, "values": values or {}, "error": error, "done": done,
        "townships": views.townships(session, user) if user.role in TAKERS else [],
        "reply_days": web.district.deadlines.complaint_reply, "sees_all": sees_all(user),
    }, status_code=status_for(error) if error else 200)


@router.get("/complaints")
def complaints(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    web: WebDep,
    status: Annotated[str, Query(max_length=16)] = "",
    taken: Annotated[str, Query(max_length=64)] = "",
    replied: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    if status not in STATUS_FILTERS:
        status = ""
    return _page(request, session, web, user, status=status, done=taken or replied, replied=bool(replied))


@router.post("/complaints")
def take_complaint(
    request: Request,
    signed: CsrfChecked,
    session: SessionDep,
    web: WebDep,
    number: Annotated[str, Form(max_length=FORM_CAP)] = "",
    case: Annotated[str, Form(max_length=FORM_CAP)] = "",
    name: Annotated[str, Form(max_length=FORM_CAP)] = "",
    address: Annotated[str, Form(max_length=FORM_CAP)] = "",
    township: Annotated[str, Form(max_length=FORM_CAP)] = "",
    operator: Annotated[str, Form(max_length=FORM_CAP)] = "",
    phone: Annotated[str, Form(max_length=FORM_CAP)] = "",
    summary: Annotated[str, Form(max_length=FORM_CAP)] = "",
) -> Response:
    user = signed.user
    values = {"number": number, "case": case, "name": name, "address": address, "township": township,
              "operator": operator, "phone": phone, "summary": summary}
    try:
        point_id = None
        if case.strip():  # the office knows a point by its case number (#73), as the pages show it
            digits = case.strip().removeprefix("#")
            if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
                raise InvalidInput(f"案件编号应为数字（如 #73）：{case.strip()[:20]}",
                                   "the case number must be a number")
            case_id = check_id(int(digits), "case")  # out of range: not found, like any missing case
            point_id = get_case(session, user=user, case_id=case_id).point_id
        added = add_complaint(session, web.district, actor=user, number=number, summary=summary, point_id=point_id,
                              name="" if point_id else name, address="" if point_id else address,
                              township_code="" if point_id else township, operator=operator, phone=phone,
                              now=web.now())
    except TuoyouError as exc:
        session.rollback()
        return _page(request, session, web, user, values=values, error=exc)
    _LOGGER.info("complaint %s taken in by %s: case %s", added.number, user.name, added.case_id)
    return RedirectResponse(f"/complaints?{urlencode({'taken': added.number})}", status_code=303)


@router.post("/complaints/{number}/reply")
def reply(
    request: Request,
    number: str,
    signed: CsrfChecked,
    session: SessionDep,
    web: WebDep,
    text: Annotated[str, Form(max_length=FORM_CAP)] = "",
) -> Response:
    user = signed.user
    try:
        row = reply_complaint(session, web.district, actor=user, number=number, text=text, now=web.now())
    except TuoyouError as exc:
        session.rollback()
        return _page(request, session, web, user, error=exc)
    return RedirectResponse(f"/complaints?{urlencode({'replied': row.number})}", status_code=303)
