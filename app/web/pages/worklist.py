"""The inspector's worklist (my township's cases by tab, search and filters) and the reviewer's queue."""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.web import views
from app.web.deps import CurrentUser, SessionDep, WebDep
from app.web.render import render
from cases.queries import rectification_engine, sees_all
from cases.registry import registrations_of_cases
from cases.service import LEVEL_ZH

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])


@router.get("/worklist")
def worklist(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    web: WebDep,
    tab: Annotated[str | None, Query(max_length=16)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    township: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    today = web.today()
    tab = tab or views.default_tab(user)
    result = views.worklist(session, user=user, district=web.district, today=today, tab=tab, state=state or None,
                            township=township or None, search=q, page=page)
    eng = rectification_engine()
    return render(request, "worklist.html", {
        "page": result, "tab": tab, "tabs": views.TABS,
        "counts": views.tab_counts(session, user=user, district=web.district, today=today),
        "state": state or "", "township": township or "", "q": q or "",
        "states": [(s.name, s.zh) for s in eng.spec.states],
        "townships": views.townships(session, user) if sees_all(user) else [],
        "today": today, "calendar_mode": web.district.deadlines.calendar,
        "can_register": views.can_register(user), "level_zh": LEVEL_ZH,
    })


@router.get("/queue")
def queue(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    web: WebDep,
    state: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    today = web.today()
    result = views.approval_queue(session, user=user, district=web.district, today=today, state=state or None,
                                  page=page)
    eng = rectification_engine()
    return render(request, "queue.html", {
        "page": result, "state": state or "", "today": today,
        "proposals": [(s, eng.state_zh(s)) for s in views.PROPOSALS],
        "counts": views.proposal_counts(session, user=user),
        "calendar_mode": web.district.deadlines.calendar,
        "approval_days": web.district.deadlines.approval,
        "registrations": registrations_of_cases(session, [r.id for r in result.rows], web.district),
    })
