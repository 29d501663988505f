"""JSON API for cases: list, show, fire a trigger, and evidence files."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, File, Path, Query, UploadFile

from app.web import views
from app.web.api.schemas import ERRORS, ActionIn, ActionOut, EvidenceOut, PageOut
from app.web.deps import ApiUser, SessionDep, WebDep
from cases import evidence as ev
from cases.errors import InvalidInput
from cases.queries import case_detail, get_case
from cases.service import Action, advance

_LOGGER = logging.getLogger(__name__)

router = APIRouter(prefix="/cases", tags=["cases"], responses=ERRORS)

CaseId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("", response_model=PageOut)
def list_cases(
    user: ApiUser,
    session: SessionDep,
    web: WebDep,
    tab: Annotated[str, Query(description="todo | due | overdue | all")] = "all",
    state: Annotated[str | None, Query(max_length=32)] = None,
    township: Annotated[str | None, Query(max_length=32)] = None,
    overdue: bool = False,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Cases the token's user may see (their township for inspectors and leads)."""
    result = views.worklist(session, user=user, district=web.district, today=web.today(),
                            tab="overdue" if overdue else tab, state=state, township=township, search=q,
                            page=page, per_page=per_page)
    return {"items": [r.as_dict() for r in result.rows], "total": result.total, "page": result.page,
            "per_page": result.per_page}


@router.get("/{case_id}")
def show_case(case_id: CaseId, user: ApiUser, session: SessionDep, web: WebDep) -> dict[str, Any]:
    """State, deadline, round, level, timeline, notices and the triggers allowed now (as `case show`)."""
    return case_detail(session, user=user, case_id=case_id, district=web.district, today=web.today())


@router.post("/{case_id}/do", response_model=ActionOut, response_model_by_alias=True)
def do(case_id: CaseId, body: ActionIn, user: ApiUser, session: SessionDep, web: WebDep) -> dict[str, Any]:
    """Fire a trigger (as `tuoyou case do`); a refusal names the triggers allowed now."""
    if body.evidence:
        get_case(session, user=user, case_id=case_id)
        known = {e.sha256 for e in views.evidence_for(session, case_id)}
        unknown = [h for h in body.evidence if h not in known]
        if unknown:
            raise InvalidInput(f"证据文件未上传到该案件：{'、'.join(h[:12] for h in unknown)}",
                               f"evidence not uploaded to this case: {', '.join(unknown)}")
    result = advance(session=session, district=web.district, case_id=case_id, actor=user, now=web.now(),
                     action=Action(trigger=body.trigger, reason=body.reason, failed=tuple(body.failed),
                                   major=tuple(body.major), notes=dict(body.notes), target=body.target,
                                   evidence=tuple(body.evidence), expected_version=body.expected_version))
    return result.summary()


def _evidence_out(case_id: int, e: Any) -> dict[str, Any]:
    return {"sha256": e.sha256, "filename": e.filename, "content_type": e.content_type, "size": e.size,
            "url": f"/cases/{case_id}/evidence/{e.sha256}"}


@router.get("/{case_id}/evidence", response_model=list[EvidenceOut])
def list_evidence(case_id: CaseId, user: ApiUser, session: SessionDep) -> list[dict[str, Any]]:
    get_case(session, user=user, case_id=case_id)
    return [_evidence_out(case_id, e) for e in views.evidence_for(session, case_id)]


@router.post("/{case_id}/evidence", response_model=EvidenceOut, status_code=201)
def upload_evidence(case_id: CaseId, file: Annotated[UploadFile, File()], user: ApiUser, session: SessionDep,
                    web: WebDep) -> dict[str, Any]:
    """Upload one JPEG, PNG or PDF (judged by content); pass its sha256 in `evidence` of `do`."""
    case = get_case(session, user=user, case_id=case_id)
    row = ev.store(session, data_dir=web.data_dir, case=case, user=user, filename=file.filename,
                   data=ev.read_limited(file.file), now=web.now())
    return _evidence_out(case_id, row)
