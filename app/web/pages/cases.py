"""The case page: details, deadline, timeline, notices, evidence, and the actions allowed now as forms."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, UploadFile

from app.web import evidence as ev
from app.web import notices as nt
from app.web import views
from app.web.actions import action_forms, checklist_rows, parse_action
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep
from app.web.errors import status_for
from app.web.render import render
from app.web.security import SignedIn
from cases.errors import Conflict, InvalidInput, TuoyouError
from cases.models import Notice, User
from cases.queries import case_detail, get_case
from cases.service import LEVEL_ZH, advance

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

CaseId = Annotated[int, Path(ge=1, le=2**62)]
MAX_FILES = 10


def case_page(request: Request, session: Session, web: Any, user: User, case_id: int, *,
              error: TuoyouError | None = None, posted: dict[str, Any] | None = None) -> Response:
    """Render the case page (also after a refused action, with the error and what was typed)."""
    session.rollback()
    detail = case_detail(session, user=user, case_id=case_id, district=web.district, today=web.today())
    last = detail["last_inspection"]
    notices = list(session.exec(select(Notice).where(Notice.case_id == case_id).order_by(col(Notice.id))).all())
    files = views.evidence_for(session, case_id)
    done = request.query_params.get("done", "")
    from cases.queries import rectification_engine

    eng = rectification_engine()
    return render(request, "case.html", {
        "c": detail,
        "forms": action_forms(detail["allowed"], detail["state"], detail["workflow"], detail["workflow_version"]),
        "checklist": checklist_rows(web.district, last["results"] if last else None),
        "items": {i.code: i for i in web.district.checklist},
        "result_zh": dict(web.district.vocabulary.results),
        "notices": notices,
        "evidence": files,
        "evidence_by_sha": {e.sha256: e for e in files},
        "accept": ev.ACCEPT,
        "level_zh": LEVEL_ZH,
        "calendar_mode": web.district.deadlines.calendar,
        "done": eng.spec.trigger_zh(done) if done else "",
        "uploaded": request.query_params.get("uploaded", ""),
        "error": error,
        "conflict": isinstance(error, Conflict),
        "posted": posted or {},
        "pdf_available": nt.pdf_available(),
        "today": web.today().isoformat(),
        "served": request.query_params.get("served", ""),
    }, status_code=status_for(error) if error else 200)


@router.get("/cases/{case_id}")
def show(request: Request, case_id: CaseId, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    return case_page(request, session, web, user, case_id)


def _uploads(form: FormData) -> list[UploadFile]:
    files = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
    if len(files) > MAX_FILES:
        raise InvalidInput(f"一次最多上传 {MAX_FILES} 个文件", f"at most {MAX_FILES} files at once")
    return files


def _store_uploads(session: Session, web: Any, user: User, case_id: int, files: list[UploadFile]) -> list[str]:
    case = get_case(session, user=user, case_id=case_id)
    hashes = []
    for f in files:
        data = ev.read_limited(f.file)
        row = ev.store(session, data_dir=web.data_dir, case=case, user=user, filename=f.filename, data=data,
                       now=web.now())
        hashes.append(row.sha256)
    return hashes


def _do(request: Request, session: Session, web: Any, signed: SignedIn, case_id: int, form: FormData) -> Response:
    user = signed.user
    posted = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        get_case(session, user=user, case_id=case_id)
        known = {e.sha256 for e in views.evidence_for(session, case_id)}
        chosen = [str(h) for h in form.getlist("evidence") if str(h) in known]
        uploaded = _store_uploads(session, web, user, case_id, _uploads(form))
        action = parse_action(form, district=web.district, evidence=tuple(dict.fromkeys([*chosen, *uploaded])))
        advance(session=session, district=web.district, case_id=case_id, actor=user, action=action, now=web.now())
    except TuoyouError as exc:
        _LOGGER.info("case %s: %s refused for %s: %s", case_id, posted.get("trigger"), user.name, exc.en)
        if status_for(exc) == 404:
            raise
        return case_page(request, session, web, user, case_id, error=exc, posted=posted)
    return RedirectResponse(f"/cases/{case_id}?done={action.trigger}", status_code=303)


@router.post("/cases/{case_id}/do")
async def do(request: Request, case_id: CaseId, signed: CsrfChecked, session: SessionDep, web: WebDep) -> Response:
    form = await request.form(max_files=MAX_FILES + 1)
    return await run_in_threadpool(_do, request, session, web, signed, case_id, form)


def _upload(request: Request, session: Session, web: Any, signed: SignedIn, case_id: int,
            form: FormData) -> Response:
    try:
        files = _uploads(form)
        if not files:
            raise InvalidInput("请选择要上传的文件", "choose a file to upload")
        hashes = _store_uploads(session, web, signed.user, case_id, files)
    except TuoyouError as exc:
        if status_for(exc) == 404:
            raise
        return case_page(request, session, web, signed.user, case_id, error=exc)
    return RedirectResponse(f"/cases/{case_id}?uploaded={len(hashes)}#evidence", status_code=303)


@router.post("/cases/{case_id}/evidence")
async def upload(request: Request, case_id: CaseId, signed: CsrfChecked, session: SessionDep,
                 web: WebDep) -> Response:
    form = await request.form(max_files=MAX_FILES + 1)
    return await run_in_threadpool(_upload, request, session, web, signed, case_id, form)


def evidence_response(session: Session, web: Any, user: User, case_id: int, sha256: str, thumb: bool) -> Response:
    """An evidence file of a visible case, never as HTML: explicit type, disposition and nosniff."""
    get_case(session, user=user, case_id=case_id)
    row = ev.find(session, case_id=case_id, sha256=sha256)
    if thumb and not row.thumbnail:
        thumb = False
    path = ev.file_path(web.data_dir, row.sha256, thumb=thumb)
    if not path.is_file():
        from cases.errors import NotFound

        raise NotFound("证据文件已不在存储中", "the evidence file is missing from storage")
    media = "image/jpeg" if thumb else row.content_type
    return FileResponse(path, media_type=media, headers={
        "Content-Disposition": ev.disposition(media, row.filename, f"evidence-{row.sha256[:12]}{ev.EXTENSIONS[media]}"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=86400",
    })


@router.get("/cases/{case_id}/evidence/{sha256}")
def evidence_file(case_id: CaseId, sha256: Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")], user: CurrentUser,
                  session: SessionDep, web: WebDep, thumb: Annotated[bool, Query()] = False) -> Response:
    return evidence_response(session, web, user, case_id, sha256, thumb)


@router.get("/notices/{notice_id}/pdf")
def notice_pdf(notice_id: Annotated[int, Path(ge=1, le=2**62)], user: CurrentUser, session: SessionDep,
               web: WebDep) -> Response:
    notice = nt.visible_notice(session, user=user, notice_id=notice_id)
    path = nt.notice_pdf(session, notice=notice, district=web.district, data_dir=web.data_dir,
                         key=web.settings.secret_key)
    return FileResponse(path, media_type="application/pdf", headers={
        "Content-Disposition": ev.disposition("application/pdf", nt.pdf_filename(notice), f"notice-{notice.id}.pdf"),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })
