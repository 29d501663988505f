"""A point's file (一点一档): the point as registered, and every case of it and of the points it matched."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import col, select

from app.web.deps import CurrentUser, SessionDep, WebDep
from app.web.render import render
from cases.errors import NotFound
from cases.models import Case, Point, Township
from cases.queries import can_see, case_engine
from cases.registry import links_of, point_cases, registration_facts

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])


@router.get("/points/{point_id:int}")
def point_file(point_id: int, request: Request, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    point = session.get(Point, point_id)
    own = list(session.exec(select(Case).where(Case.point_id == point_id)).all())
    if point is None or not own or not any(can_see(user, c) for c in own):
        raise NotFound(f"托幼点 {point_id} 不存在或不在您的辖区", f"point {point_id} not found (or not yours)")
    ids = point_cases(session, point_id)
    cases = list(session.exec(select(Case).where(col(Case.id).in_(ids)).order_by(col(Case.id))).all())
    visible = [c for c in cases if can_see(user, c)]
    points = {p.id: p for p in session.exec(select(Point).where(col(Point.id).in_({c.point_id for c in visible})))}
    towns = {t.id: t.name for t in session.exec(select(Township))}
    tz = ZoneInfo(web.district.district.timezone)
    rows = []
    for c in visible:
        p = points[c.point_id]
        eng = case_engine(c)
        flags = sorted({link.flag for link in links_of(session, c.id or 0) if link.flag})
        rows.append({"id": c.id, "name": p.name, "address": p.address, "operator": p.operator,
                     "township": towns.get(c.township_id, ""), "state": c.state, "state_zh": eng.state_zh(c.state),
                     "terminal": eng.spec.state(c.state).terminal, "opened_on": c.opened_at.astimezone(tz).date(),
                     "registered_on": p.registered_on, "this_point": c.point_id == point_id, "flags": flags})
    town = session.get(Township, point.township_id)
    return render(request, "point_file.html", {
        "point": point, "township": town.name if town else "", "rows": rows,
        "hidden": len(cases) - len(visible), "registration": registration_facts(point, web.district),
    })
