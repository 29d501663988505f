"""The case page: details, deadline, timeline, notices, evidence, and the actions allowed now as forms."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, UploadFile

from app.web import drafts, views
from app.web import notices as nt
from app.web.actions import (
    DONE_ZH,
    action_forms,
    checklist_rows,
    findings_from,
    outcome_forms,
    parse_action,
    parse_findings,
)
from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep, unread_count
from app.web.errors import status_for
from app.web.render import render
from app.web.security import SignedIn
from cases import evidence as ev
from cases.errors import Conflict, InvalidInput, TuoyouError
from cases.models import Notice, User
from cases.queries import case_detail, case_engine, get_case
from cases.service import LEVEL_ZH, advance
from workflow.engine import engine_for
from workflow.registry import spec_for

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

CaseId = Annotated[int, Path(ge=1, le=2**62)]
MAX_FILES = ev.MAX_FILES


def case_page(request: Request, session: Session, web: Any, user: User, case_id: int) -> Response:
    """Render the case page, with what a kept draft holds (after a refusal or an ended session)."""
    session.rollback()
    detail = case_detail(session, user=user, case_id=case_id, district=web.district, today=web.today())
    if views.mark_read(session, user=user, message_id=None, now=web.now(), case_id=case_id):
        request.state.unread = unread_count(session, user.id)  # opening the case reads its messages
    page = f"/cases/{case_id}"
    draft = drafts.restore(session, user=user, page=page, data_dir=web.data_dir, now=web.now())
    kept = drafts.restore(session, user=user, page=page, data_dir=web.data_dir, now=web.now(), kind="inspection")
    last = detail["last_inspection"]
    notices = list(session.exec(select(Notice).where(Notice.case_id == case_id).order_by(col(Notice.id))).all())
    files = views.evidence_for(session, case_id)
    done = request.query_params.get("done", "")
    eng = engine_for(spec_for(detail["workflow"], detail["workflow_version"]))
    forms = action_forms(detail["allowed"], detail["state"], detail["workflow"], detail["workflow_version"])
    inspect_forms = [f for f in forms if f.inspection]
    findings = findings_from(kept.values, web.district) if inspect_forms else None
    outcomes: list[Any] = []
    if findings is not None:
        case = get_case(session, user=user, case_id=case_id)
        outcomes = outcome_forms(inspect_forms, findings, case=case, district=web.district, role=user.role,
                                 actor_id=user.id)
    editing = bool(inspect_forms) and (findings is None or request.query_params.get("inspect") == "edit"
                                       or draft.get("step") == "inspection")
    if draft.get("step") == "inspection":
        checklist_values: Any = draft
    elif findings is not None:
        checklist_values = kept
    else:
        checklist_values = drafts.Restored()
    return render(request, "case.html", {
        "c": detail,
        "forms": [f for f in forms if not f.inspection],
        "inspect_forms": inspect_forms,
        "findings": findings,
        "outcomes": outcomes,
        "editing": editing,
        "checklist_values": checklist_values,
        "checklist": checklist_rows(web.district, last["results"] if last else None),
        "items": {i.code: i for i in web.district.checklist},
        "result_zh": dict(web.district.vocabulary.results),
        "trigger_zh": eng.spec.trigger_zh,
        "notices": notices,
        "evidence": files,
        "evidence_by_sha": {e.sha256: e for e in files},
        "accept": ev.ACCEPT,
        "level_zh": LEVEL_ZH,
        "calendar_mode": web.district.deadlines.calendar,
        "done": DONE_ZH.get(done) or (f"已执行「{eng.spec.trigger_zh(done)}」。" if done else ""),
        "uploaded": request.query_params.get("uploaded", ""),
        "draft": draft,
        "allowed_zh": [eng.spec.trigger_zh(a) for a in (draft.allowed or [])],
        "pdf_available": nt.pdf_available(),
        "today": web.today().isoformat(),
        "served": request.query_params.get("served", ""),
        "posted": draft,  # what a refused or expired form held (e.g. the 送达 form reads it)
    })


@router.get("/cases/{case_id}")
def show(request: Request, case_id: CaseId, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    return case_page(request, session, web, user, case_id)


def _uploads(form: FormData, field: str = "files") -> list[UploadFile]:
    files = [f for f in form.getlist(field) if isinstance(f, UploadFile) and f.filename]
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


def _refused(session: Session, web: Any, user: User, case_id: int, form: FormData, exc: TuoyouError,
             anchor: str, extra: dict[str, Any] | None = None) -> Response:
    """Keep what was typed with the reason it was refused, and show the case page at its own address."""
    if status_for(exc) == 404:
        raise exc
    session.rollback()
    assert user.id is not None
    drafts.save(session, user_id=user.id, page=f"/cases/{case_id}",
                values={**drafts.form_values(form), **(extra or {})}, now=web.now(), message=exc.zh,
                status="conflict" if isinstance(exc, Conflict) else "error", allowed=exc.allowed)
    return RedirectResponse(f"/cases/{case_id}#{anchor}", status_code=303)


def _inspect(request: Request, session: Session, web: Any, signed: SignedIn, case_id: int,
             form: FormData) -> Response:
    """Step one: record the checklist (kept as the user's pending inspection of this case)."""
    user = signed.user
    assert user.id is not None
    photos: dict[str, list[str]] = {}
    try:
        get_case(session, user=user, case_id=case_id)
        for item in web.district.checklist:
            stored = _store_uploads(session, web, user, case_id, _uploads(form, f"files_{item.code}"))
            if stored:
                photos[item.code] = stored
        findings = parse_findings(form, district=web.district, photos=photos)
    except TuoyouError as exc:
        extra = {f"evidence_{c}": list(dict.fromkeys([*form.getlist(f"evidence_{c}"), *h]))  # type: ignore[list-item]
                 for c, h in photos.items()}
        return _refused(session, web, user, case_id, form, exc, "inspection", {"step": "inspection", **extra})
    page = f"/cases/{case_id}"
    drafts.save(session, user_id=user.id, page=page, values=findings.as_values(), now=web.now(), kind="inspection")
    drafts.discard(session, user_id=user.id, page=page)
    _LOGGER.info("case %s: inspection recorded by %s (%d items)", case_id, user.name, len(findings.results))
    return RedirectResponse(f"/cases/{case_id}?done=inspect#outcome", status_code=303)


@router.post("/cases/{case_id}/inspect")
async def inspect(request: Request, case_id: CaseId, signed: CsrfChecked, session: SessionDep,
                  web: WebDep) -> Response:
    form = await request.form(max_files=MAX_FILES * 4)
    return await run_in_threadpool(_inspect, request, session, web, signed, case_id, form)


@router.post("/cases/{case_id}/inspect/discard")
def discard_inspection(case_id: CaseId, signed: CsrfChecked, session: SessionDep) -> Response:
    drafts.discard(session, user_id=signed.user.id, page=f"/cases/{case_id}", kind="inspection")
    return RedirectResponse(f"/cases/{case_id}#inspection", status_code=303)


@router.post("/cases/{case_id}/draft/discard")
def discard_draft(case_id: CaseId, signed: CsrfChecked, session: SessionDep) -> Response:
    drafts.discard(session, user_id=signed.user.id, page=f"/cases/{case_id}")
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


def _do(request: Request, session: Session, web: Any, signed: SignedIn, case_id: int, form: FormData) -> Response:
    """Step two (or any other action): fire the trigger through the service, with the recorded inspection."""
    user = signed.user
    page = f"/cases/{case_id}"
    trigger = str(form.get("trigger") or "")
    uploaded: list[str] = []
    try:
        case = get_case(session, user=user, case_id=case_id)
        known = {e.sha256 for e in views.evidence_for(session, case_id)}
        chosen = [str(h) for h in form.getlist("evidence") if str(h) in known]
        uploaded = _store_uploads(session, web, user, case_id, _uploads(form))
        t = case_engine(case).transition(trigger, case.state)
        findings = None
        if t is not None and t.inspection:
            kept = drafts.restore(session, user=user, page=page, data_dir=web.data_dir, now=web.now(),
                                  kind="inspection")
            # the recorded inspection, or a checklist posted with the action itself
            posted = {k: v for k, v in form.items() if isinstance(v, str)}
            if not kept and not any(k.startswith("item_") for k in posted):

                raise InvalidInput("请先完成现场检查：逐项标记检查结果并保存，再选择后续操作",
                                   "record the inspection (every checklist item) before choosing what follows")
            findings = parse_findings({**kept.values, **posted}, district=web.district)
            if any(k.startswith("item_") for k in posted):  # a checklist posted with the action: kept as recorded
                assert user.id is not None
                drafts.save(session, user_id=user.id, page=page, values=findings.as_values(), now=web.now(),
                            kind="inspection")
        action = parse_action(form, district=web.district, evidence=tuple(dict.fromkeys([*chosen, *uploaded])),
                              findings=findings)
        advance(session=session, district=web.district, case_id=case_id, actor=user, action=action, now=web.now())
    except TuoyouError as exc:
        _LOGGER.info("case %s: %s refused for %s: %s", case_id, trigger, user.name, exc.en)
        extra = {"evidence": list(dict.fromkeys([*form.getlist("evidence"), *uploaded]))} if uploaded else {}
        return _refused(session, web, user, case_id, form, exc, f"act-{trigger}" if trigger else "actions",
                        extra)  # type: ignore[arg-type]
    drafts.discard(session, user_id=user.id, page=page)
    if findings is not None:
        drafts.discard(session, user_id=user.id, page=page, kind="inspection")
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
        return _refused(session, web, signed.user, case_id, form, exc, "evidence")
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
