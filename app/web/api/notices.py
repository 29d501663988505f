"""JSON API for notices: list them (per case or all visible), download a notice's PDF, record its service."""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.web import notices as nt
from app.web.api.schemas import ERRORS
from app.web.deps import ApiUser, SessionDep, WebDep
from cases import evidence as ev
from cases.validation import LIMITS

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/notices", tags=["notices"], responses={**ERRORS, 503: ERRORS[400]})

NoticeId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("")
def list_notices(
    user: ApiUser,
    session: SessionDep,
    case: Annotated[int | None, Query(ge=1, le=2**62, description="only this case's notices")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    return [nt.notice_dict(n) for n in nt.notices(session, user=user, case_id=case, limit=limit, offset=offset)]


@router.get("/{notice_id}")
def show_notice(notice_id: NoticeId, user: ApiUser, session: SessionDep) -> dict[str, Any]:
    notice = nt.visible_notice(session, user=user, notice_id=notice_id)
    return {**nt.notice_dict(notice), "data": notice.data}


@router.get("/{notice_id}/pdf", response_class=FileResponse)
def notice_pdf(notice_id: NoticeId, user: ApiUser, session: SessionDep, web: WebDep) -> FileResponse:
    """The notice as PDF; 503 while PDF rendering is not available."""
    notice = nt.visible_notice(session, user=user, notice_id=notice_id)
    path = nt.notice_pdf(session, notice=notice, district=web.district, data_dir=web.data_dir,
                         key=web.settings.secret_key)
    return FileResponse(path, media_type="application/pdf", headers={
        "Content-Disposition": ev.disposition("application/pdf", nt.pdf_filename(notice), f"notice-{notice.id}.pdf"),
        "X-Content-Type-Options": "nosniff",
    })


class ServiceIn(BaseModel):
    """The service (送达) of a notice, as `tuoyou notice deliver` records it."""

    model_config = ConfigDict(extra="forbid")

    method: str = Field(max_length=16, description="direct | left | mail | electronic | public (or 直接送达 …)")
    served_on: date = Field(description="YYYY-MM-DD; for 公告送达 the day of the announcement")
    recipient: str = Field(default="", max_length=LIMITS["recipient"].max,
                           description="受送达人 (default: the addressee)")
    place: str = Field(default="", max_length=LIMITS["address"].max,
                       description="送达地点 (default: the point's address)")

    @field_validator("served_on", mode="before")
    @classmethod
    def _strict(cls, value: Any) -> Any:
        if isinstance(value, str):
            from cases.validation import parse_date

            try:
                return parse_date(value, "served_on")
            except ValueError as exc:
                raise ValueError(str(exc)) from None
        return value


@router.post("/{notice_id}/deliver", status_code=201)
def deliver_notice(notice_id: NoticeId, body: ServiceIn, user: ApiUser, session: SessionDep,
                   web: WebDep) -> dict[str, Any]:
    """Record how, when and to whom the notice was served; issues the numbered 送达回证."""
    from cases.serving import deliver

    notice = nt.visible_notice(session, user=user, notice_id=notice_id)
    served = deliver(session=session, district=web.district, number=notice.number, method=body.method,
                     served_on=body.served_on, actor=user, recipient=body.recipient, place=body.place,
                     now=web.now())
    return served.summary()
