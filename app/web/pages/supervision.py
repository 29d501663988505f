"""The supervised cases (督办): every case on the ladder, filtered by level, township and state, page by page.

The dashboard's level tiles link here and count with the same query, so a tile's number is the
length of the list it opens. Each row shows the open 督办通知书 and the date its reply is due.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlmodel import Session, col, func, select

from app.web import views
from app.web.deps import CurrentUser, SessionDep, WebDep
from app.web.render import render
from cases.config import District
from cases.errors import InvalidInput
from cases.models import Case, User
from cases.queries import rectification_engine, sees_all
from cases.service import LEVEL_ZH
from cases.supervision_replies import open_notices

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])
LEVELS = (1, 2, 3)


def _conditions(session: Session, user: User, *, level: int | None, township: str | None,
                state: str | None) -> list[Any]:
    conds: list[Any] = [col(Case.escalation_level) > 0, col(Case.state).notin_(views.TERMINAL)]
    if not sees_all(user):
        conds.append(col(Case.township_id) == (user.township_id or -1))
    if level is not None:
        if level not in LEVELS:
            raise InvalidInput(f"督办级别应为 1、2 或 3：{level}", f"level must be 1, 2 or 3: {level}")
        conds.append(col(Case.escalation_level) == level)
    town_id = views._township_id(session, township) if township and sees_all(user) else None
    if town_id is not None:
        conds.append(col(Case.township_id) == town_id)
    if state:
        if state not in views.ALL_STATES or state in views.TERMINAL:
            raise InvalidInput(f"没有名为 {state} 的办理中状态", f"no open state named {state}")
        conds.append(col(Case.state) == state)
    return conds


def level_counts(session: Session, user: User, *, township: str | None = None,
                 state: str | None = None) -> dict[int, int]:
    """Supervised cases per level with these filters: the tiles, equal to the lists they open."""
    conds = _conditions(session, user, level=None, township=township, state=state)
    rows = session.exec(select(Case.escalation_level, func.count()).where(*conds)
                        .group_by(Case.escalation_level)).all()
    counts = {lv: 0 for lv in LEVELS}
    for lv, n in rows:
        counts[min(int(lv), 3)] += int(n)
    return counts


def supervised_page(session: Session, user: User, district: District, *, level: int | None, township: str | None,
                    state: str | None, page: int, today: date, per_page: int = views.PER_PAGE) -> views.Page:
    conds = _conditions(session, user, level=level, township=township, state=state)
    total = int(session.exec(select(func.count()).select_from(Case).where(*conds)).one())
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    ids = list(session.exec(select(Case.id).where(*conds)
                            .order_by(col(Case.escalation_level).desc(), col(Case.deadline), col(Case.id))
                            .offset((page - 1) * per_page).limit(per_page)).all())
    rows = views._case_rows(session, ids, views.DaysLeft(district.work_calendar(), today))
    return views.Page(rows=rows, total=total, page=page, per_page=per_page)


@router.get("/supervision")
def supervision(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    web: WebDep,
    level: Annotated[int | None, Query(ge=1, le=3)] = None,
    township: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    township, state = township or None, state or None
    result = supervised_page(session, user, web.district, level=level, township=township, state=state, page=page,
                             today=web.today())
    replies = {r.id: open_notices(session, web.district, r.id) for r in result.rows}
    eng = rectification_engine()
    open_states = [(s.name, s.zh) for s in eng.spec.states if not s.terminal and not s.proposal]
    return render(request, "supervision.html", {
        "page": result, "level": level, "township": township or "", "state": state or "",
        "counts": level_counts(session, user, township=township, state=state), "level_zh": LEVEL_ZH,
        "townships": views.townships(session, user) if sees_all(user) else [], "states": open_states,
        "replies": replies, "today": web.today(), "proposals": views.PROPOSALS,
        "calendar_mode": web.district.deadlines.calendar,
    })
