"""The campaign's spreadsheet pages: registry upload (preview, then confirm), templates, the 整治台账
download, and the three rates (三率) with the bureau's form and upload.

An uploaded registry is checked and shown before anything is written: the file waits under
the data directory, named by its uploader and its sha256, and the confirm step imports exactly
that file (checked again, as the registry may have changed meanwhile).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.web.deps import CsrfChecked, CurrentUser, SessionDep, WebDep, WebState
from app.web.errors import status_for
from app.web.render import render
from cases.errors import InvalidInput, NotAllowed, NotFound, TuoyouError
from cases.indicators import RATES, STAT_COLUMNS, STAT_ROLES, import_stats, indicator_report, save_stat
from cases.ledger import LedgerFilter, ledger_bytes, ledger_filename
from cases.models import User
from cases.queries import sees_all
from cases.registry_import import IMPORT_ROLES, POINT_COLUMNS, check_registry, import_registry
from cases.workbook import ImportRefused, write_template

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_UPLOAD = 20 * 1024 * 1024  # a registry of 100,000 rows is about 4 MB
PREVIEW_ROWS = 50
PENDING_SECONDS = 24 * 3600  # how long an unconfirmed upload waits
FORM_CAP = 200
_TOKEN = re.compile(r"^[0-9a-f]{64}$")


def _download(data: bytes, filename: str) -> Response:
    return Response(data, media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"download.xlsx\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})


def _may_import(user: User) -> None:
    if user.role not in IMPORT_ROLES:
        raise NotAllowed("您的角色不能导入托幼点名册", f"role {user.role} cannot import the registry")


async def _upload(request: Request) -> tuple[FormData, bytes, str]:
    form = await request.form(max_files=1)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        raise InvalidInput("请选择要上传的 Excel 文件（.xlsx）", "choose an .xlsx file to upload")
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"文件过大（超过 {MAX_UPLOAD // 1024 // 1024} MB），请分批导入",
                           f"the file is larger than {MAX_UPLOAD // 1024 // 1024} MB; import it in parts")
    return form, data, Path(file.filename).name[:100]


# -- templates ---------------------------------------------------------------------------------


@router.get("/import/template/{kind}.xlsx")
def template(kind: str, user: CurrentUser) -> Response:
    if kind == "points":
        return _download(write_template(POINT_COLUMNS, sheet="托幼点名册"), "托幼点名册导入模板.xlsx")
    if kind == "stats":
        return _download(write_template(STAT_COLUMNS, sheet="三率基础数据"), "三率基础数据导入模板.xlsx")
    raise NotFound("没有这个模板", f"no template {kind}")


# -- registry upload: preview, then confirm ----------------------------------------------------


def _pending_dir(web: WebState) -> Path:
    return web.data_dir / "imports"


def _pending_path(web: WebState, user: User, token: str) -> Path:
    if not _TOKEN.match(token):
        raise NotFound("导入文件已失效，请重新上传", "the uploaded file is gone; upload it again")
    return _pending_dir(web) / f"{user.id}-{token}.xlsx"


def _import_page(request: Request, session: Session, web: WebState, user: User, *, error: TuoyouError | None = None,
                 errors: list[Any] | None = None, done: dict[str, str] | None = None) -> Response:
    _may_import(user)
    return render(request, "import_points.html", {
        "error": error, "errors": errors or [], "done": done or {}, "columns": POINT_COLUMNS,
        "district_wide": sees_all(user), "max_mb": MAX_UPLOAD // 1024 // 1024,
    }, status_code=status_for(error) if error else 200)


def _forget_stale(folder: Path) -> None:
    """Uploads never confirmed are dropped after a day."""
    cutoff = time.time() - PENDING_SECONDS
    for old in folder.iterdir():
        try:
            if old.stat().st_mtime < cutoff:
                old.unlink()
        except FileNotFoundError:  # another worker removed it first
            pass


@router.get("/import/points")
def import_form(request: Request, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    done = {k: v for k, v in request.query_params.items() if k in ("imported", "duplicates", "skipped", "first")}
    return _import_page(request, session, web, user, done=done)


def _preview(request: Request, session: Session, web: WebState, user: User, data: bytes, filename: str) -> Response:
    try:
        check = check_registry(session, data, actor=user, today=web.today())
    except TuoyouError as exc:
        return _import_page(request, session, web, user, error=exc)
    token = hashlib.sha256(data).hexdigest()
    folder = _pending_dir(web)
    folder.mkdir(parents=True, exist_ok=True)
    _forget_stale(folder)
    path = _pending_path(web, user, token)
    path.write_bytes(data)
    (folder / f"{user.id}-{token}.name").write_text(filename, encoding="utf-8")
    return render(request, "import_preview.html", {
        "check": check, "token": token, "filename": filename, "new_rows": check.new[:PREVIEW_ROWS],
        "more_new": max(0, len(check.new) - PREVIEW_ROWS), "errors": check.errors[:500],
        "more_errors": max(0, len(check.errors) - 500), "duplicates": check.duplicates[:500],
        "more_duplicates": max(0, len(check.duplicates) - 500),
    })


@router.post("/import/points")
async def import_preview(request: Request, signed: CsrfChecked, session: SessionDep, web: WebDep) -> Response:
    user = signed.user
    _may_import(user)
    try:
        _form, data, filename = await _upload(request)
    except TuoyouError as exc:
        return _import_page(request, session, web, user, error=exc)
    return await run_in_threadpool(_preview, request, session, web, user, data, filename)


def _confirm(request: Request, session: Session, web: WebState, user: User, token: str, skip: bool) -> Response:
    _may_import(user)
    path = _pending_path(web, user, token)
    if not path.exists():
        raise NotFound("导入文件已失效，请重新上传", "the uploaded file is gone; upload it again")
    name_file = path.with_suffix(".name")
    filename = name_file.read_text(encoding="utf-8") if name_file.exists() else ""
    try:
        result = import_registry(session, web.district, path.read_bytes(), actor=user, today=web.today(),
                                 now=web.now(), skip_invalid=skip, source_name=filename)
    except ImportRefused as exc:
        return _import_page(request, session, web, user, error=exc, errors=exc.errors[:500])
    except TuoyouError as exc:
        return _import_page(request, session, web, user, error=exc)
    path.unlink(missing_ok=True)
    name_file.unlink(missing_ok=True)
    _LOGGER.info("registry %r imported by %s: %d cases", filename, user.name, result.imported)
    query = urlencode({"imported": result.imported, "duplicates": len(result.check.duplicates),
                       "skipped": len(result.check.bad_rows), "first": result.case_ids[0] if result.case_ids else ""})
    return RedirectResponse(f"/import/points?{query}", status_code=303)


@router.post("/import/points/confirm")
async def import_confirm(
    request: Request,
    signed: CsrfChecked,
    session: SessionDep,
    web: WebDep,
    token: Annotated[str, Form(max_length=64)] = "",
    skip_invalid: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    return await run_in_threadpool(_confirm, request, session, web, signed.user, token, skip_invalid == "1")


# -- the 整治台账 --------------------------------------------------------------------------------


@router.get("/ledger.xlsx")
def ledger(
    user: CurrentUser,
    session: SessionDep,
    web: WebDep,
    township: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    flt = LedgerFilter(township=township or None, state=state or None)
    today = web.today()
    data = ledger_bytes(session, web.district, user=user, flt=flt, today=today)
    return _download(data, ledger_filename(web.district, today, flt))


# -- the three rates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RateBar:
    label: str
    value: float
    y: float
    width: float
    ok: bool | None


def rate_chart(rows: list[dict[str, Any]], key: str, target: float | None, *, width: int = 360,
               label_width: int = 84, bar: int = 14, gap: int = 5) -> dict[str, Any]:
    """Horizontal bars of one rate per township (the district last), scaled 0–100% (or more), with the target."""
    top = max([100.0, *(r[key] or 0 for r in rows)])
    room = width - label_width - 44
    bars = [RateBar(r["name"], r[key] or 0.0, i * (bar + gap), room * (r[key] or 0) / top, r["meets"][key])
            for i, r in enumerate(rows)]
    height = max(len(rows) * (bar + gap), bar) + 14
    return {"width": width, "height": height, "label_width": label_width, "bar": bar, "bars": bars,
            "target_x": label_width + room * target / top if target else None, "target": target,
            "base": height - 14}


def indicators_context(session: Session, web: WebState, user: User, year: int | None) -> dict[str, Any]:
    """The rates for the page and the dashboard: the user's township only for township roles."""
    scope = None if sees_all(user) else [user.township_id or -1]
    report = indicator_report(session, web.district, year=year, township_ids=scope)
    data = report.as_dict(web.district)
    rows = data["townships"] + ([{**data["district"], "name": "全区"}] if data["district"] and scope is None else [])
    charts = [{"key": k, "zh": zh, "target": t["target"], "chart": rate_chart(rows, k, t["target"])}
              for (k, zh, _en), t in zip(RATES, data["rates"], strict=True)] if rows else []
    return {"ind": data, "ind_charts": charts, "rates": RATES}


@router.get("/indicators")
def indicators(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    web: WebDep,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
) -> Response:
    return _indicators_page(request, session, web, user, year)


def _indicators_page(request: Request, session: Session, web: WebState, user: User, year: int | None, *,
                     error: TuoyouError | None = None, errors: list[Any] | None = None,
                     values: dict[str, str] | None = None) -> Response:
    done = {k: v for k, v in request.query_params.items() if k in ("added", "updated", "unchanged", "saved")}
    try:
        ctx = indicators_context(session, web, user, year)
    except InvalidInput as exc:
        ctx = indicators_context(session, web, user, None)
        error = error or exc
    towns = [{"code": t.code, "name": t.name} for t in web.district.townships]
    return render(request, "indicators.html", {
        **ctx, "error": error, "errors": errors or [], "values": values or {}, "done": done,
        "can_edit": user.role in STAT_ROLES, "townships": towns, "this_year": web.today().year,
        "columns": STAT_COLUMNS, "targets": web.district.indicators,
    }, status_code=status_for(error) if error else 200)


@router.post("/indicators")
def save_figures(
    request: Request,
    signed: CsrfChecked,
    session: SessionDep,
    web: WebDep,
    township: Annotated[str, Form(max_length=FORM_CAP)] = "",
    year: Annotated[str, Form(max_length=FORM_CAP)] = "",
    population: Annotated[str, Form(max_length=FORM_CAP)] = "",
    enrolled: Annotated[str, Form(max_length=FORM_CAP)] = "",
    public: Annotated[str, Form(max_length=FORM_CAP)] = "",
    inclusive_private: Annotated[str, Form(max_length=FORM_CAP)] = "",
) -> Response:
    values = {"township": township, "year": year, "population": population, "enrolled": enrolled,
              "public": public, "inclusive_private": inclusive_private}
    try:
        result = save_stat(session, actor=signed.user, fields=values, today=web.today(), now=web.now())
    except TuoyouError as exc:
        if isinstance(exc, NotAllowed):
            raise
        return _indicators_page(request, session, web, signed.user, None, error=exc,
                                errors=getattr(exc, "errors", []), values=values)
    word = "added" if result.added else "updated" if result.updated else "unchanged"
    return RedirectResponse(f"/indicators?year={result.years[0]}&saved={word}", status_code=303)


def _import_stats(request: Request, session: Session, web: WebState, user: User, data: bytes) -> Response:
    try:
        result = import_stats(session, data, actor=user, today=web.today(), now=web.now())
    except ImportRefused as exc:
        return _indicators_page(request, session, web, user, None, error=exc, errors=exc.errors[:500])
    except TuoyouError as exc:
        if isinstance(exc, NotAllowed):
            raise
        return _indicators_page(request, session, web, user, None, error=exc)
    query = urlencode({"year": result.years[-1], "added": result.added, "updated": result.updated,
                       "unchanged": result.unchanged})
    return RedirectResponse(f"/indicators?{query}", status_code=303)


@router.post("/indicators/import")
async def import_figures(request: Request, signed: CsrfChecked, session: SessionDep, web: WebDep) -> Response:
    if signed.user.role not in STAT_ROLES:
        raise NotAllowed("只有区教育局可以报送三率基础数据", f"role {signed.user.role} cannot enter the figures")
    try:
        _form, data, _name = await _upload(request)
    except TuoyouError as exc:
        return _indicators_page(request, session, web, signed.user, None, error=exc)
    return await run_in_threadpool(_import_stats, request, session, web, signed.user, data)
