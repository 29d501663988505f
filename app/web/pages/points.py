"""The point registry: search the registered points, and register a new one (which opens its case)."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.web import drafts, views
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.render import render
from cases.errors import NotAllowed, TuoyouError
from cases.queries import sees_all
from cases.registry import DuplicatePoint
from cases.service import open_case
from cases.validation import parse_date

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

# fields are checked by `cases.validation` (same limits and messages as CLI and API), and the form comes
# back with what was typed; this cap only bounds what is read at all
FORM_CAP = 20_000


@router.get("/points")
def registry(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    township: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    result = views.points(session, user=user, search=q, township=township or None, page=page)
    return render(request, "points.html", {
        "page": result, "q": q or "", "township": township or "", "source_zh": views.SOURCE_ZH,
        "townships": views.townships(session, user) if sees_all(user) else [],
        "can_register": views.can_register(user),
    })


NEW_PAGE = "/points/new"


def _form_page(request: Request, session: SessionDep, web: WebDep, user: CurrentUser) -> Response:
    """The registration form, with what a refused or expired attempt held (kept as a draft)."""
    if not views.can_register(user):
        raise NotAllowed("您的角色不能登记托幼点", f"role {user.role} cannot register points")
    draft = drafts.restore(session, user=user, page=NEW_PAGE, data_dir=web.data_dir, now=web.now())
    return render(request, "point_new.html", {
        "townships": views.townships(session, user), "values": draft.values, "draft": draft,
        "error": draft.message if draft.status in ("error", "conflict") else "",
        "notice": draft.message if draft.status == "expired" else "",
        "sources": views.SOURCE_ZH, "today": web.today(), "cutoff": web.district.district.cutoff,
        # a likely duplicate: the earlier cases, and a confirmation box to register anyway
        "duplicates": draft.values.get("dup_matches") or [] if draft.status == "error" else [],
    })


@router.get("/points/new")
def new_point(request: Request, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    return _form_page(request, session, web, user)


@router.post("/points")
def create_point(
    request: Request,
    signed: CsrfChecked,
    session: SessionDep,
    web: WebDep,
    name: Annotated[str, Form(max_length=FORM_CAP)] = "",
    township: Annotated[str, Form(max_length=FORM_CAP)] = "",
    address: Annotated[str, Form(max_length=FORM_CAP)] = "",
    operator: Annotated[str, Form(max_length=FORM_CAP)] = "",
    phone: Annotated[str, Form(max_length=FORM_CAP)] = "",
    registered_on: Annotated[str, Form(max_length=FORM_CAP)] = "",
    source: Annotated[str, Form(max_length=FORM_CAP)] = "registry",
    basis: Annotated[str, Form(max_length=FORM_CAP)] = "",
    confirm_duplicate: Annotated[str, Form(max_length=FORM_CAP)] = "",
) -> Response:
    user = signed.user
    values = {"name": name, "township": township, "address": address, "operator": operator, "phone": phone,
              "registered_on": registered_on, "source": source, "basis": basis}
    try:
        day = parse_date(registered_on, "registered_on")
        case = open_case(session=session, district=web.district, actor=user, name=name, township_code=township,
                         address=address, operator=operator, phone=phone, registered_on=day, source=source,
                         now=web.now(), basis=basis, force=confirm_duplicate == "yes")
    except TuoyouError as exc:
        session.rollback()
        assert user.id is not None
        if isinstance(exc, DuplicatePoint):  # the page lists them and asks for a confirmation
            values["dup_matches"] = [{"case_id": m.case_id, "label": m.label} for m in exc.matches]
        drafts.save(session, user_id=user.id, page=NEW_PAGE, values=values, now=web.now(), message=exc.zh,
                    status="error", allowed=exc.allowed)
        return RedirectResponse(NEW_PAGE, status_code=303)
    _LOGGER.info("point %r registered by %s: case %s", name, user.name, case.id)
    return RedirectResponse(f"/cases/{case.id}?done=open", status_code=303)
