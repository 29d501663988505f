"""JSON API for the token user's inbox and who the token belongs to."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlmodel import select

from app.web import views
from app.web.api.schemas import ERRORS, PageOut, UserOut
from app.web.deps import ApiUser, SessionDep, WebDep
from cases.models import Township

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["inbox"], responses=ERRORS)


@router.get("/me", response_model=UserOut)
def me(user: ApiUser, session: SessionDep) -> dict[str, Any]:
    town = session.exec(select(Township).where(Township.id == user.township_id)).first() if user.township_id else None
    return {"name": user.name, "display_name": user.display_name, "role": user.role,
            "township": town.code if town else None}


@router.get("/inbox", response_model=PageOut)
def inbox(
    user: ApiUser,
    session: SessionDep,
    unread: bool = False,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    result = views.inbox(session, user=user, unread_only=unread, page=page, per_page=per_page)
    return {"items": [views.message_dict(m) for m in result.rows], "total": result.total, "page": result.page,
            "per_page": result.per_page}


@router.post("/inbox/{message_id}/read")
def mark_read(message_id: Annotated[int, Path(ge=1, le=2**62)], user: ApiUser, session: SessionDep,
              web: WebDep) -> dict[str, int]:
    return {"marked": views.mark_read(session, user=user, message_id=message_id, now=web.now())}
