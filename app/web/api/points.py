"""JSON API for the point registry: search points, register a point (which opens its case)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.web import views
from app.web.api.schemas import ERRORS, PageOut, PointIn
from app.web.deps import ApiUser, SessionDep, WebDep
from cases.service import open_case

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/points", tags=["points"], responses=ERRORS)


@router.get("", response_model=PageOut)
def list_points(
    user: ApiUser,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    township: Annotated[str | None, Query(max_length=32)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    result = views.points(session, user=user, search=q, township=township, page=page, per_page=per_page)
    return {"items": [r.as_dict() for r in result.rows], "total": result.total, "page": result.page,
            "per_page": result.per_page}


@router.post("", status_code=201)
def register_point(body: PointIn, user: ApiUser, session: SessionDep, web: WebDep) -> dict[str, Any]:
    """Register a point (as `tuoyou point add`); answers the new case's id."""
    case = open_case(session=session, district=web.district, actor=user, name=body.name, township_code=body.township,
                     address=body.address, operator=body.operator, phone=body.phone,
                     registered_on=body.registered_on, source=body.source, now=web.now(), basis=body.basis,
                     force=body.force)
    return {"case_id": case.id, "point_id": case.point_id, "state": case.state, "version": case.version}
