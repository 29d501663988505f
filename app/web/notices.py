"""Notices as the web app offers them: which ones a user may see, and their PDF files.

The PDF comes from the notice renderer (`cases.notices.render_notices`); while that is not
installed, asking for a PDF answers 503 with a clear Chinese message.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from app.web.errors import Unavailable
from cases.config import District
from cases.errors import NotFound
from cases.models import Notice, User
from cases.queries import get_case, sees_all
from cases.validation import in_id_range

_LOGGER = logging.getLogger(__name__)

UNAVAILABLE_ZH = "公文 PDF 生成功能暂未启用（文书记录已保存，可稍后下载）"
UNAVAILABLE_EN = "rendering notices to PDF is not available yet (the notice record is kept)"


def visible_notice(session: Session, *, user: User, notice_id: int) -> Notice:
    """The notice, if its case is visible to the user (notices without a case: district roles only)."""
    missing = NotFound(f"文书 {notice_id} 不存在", f"notice {notice_id} not found")
    notice = session.get(Notice, notice_id) if in_id_range(notice_id) else None
    if notice is None:
        raise missing
    if notice.case_id is not None:
        try:
            get_case(session, user=user, case_id=notice.case_id)
        except NotFound:  # outside the user's township: the same answer, without naming the case
            raise missing from None
    elif not sees_all(user):
        raise missing
    return notice


def notices(session: Session, *, user: User, case_id: int | None = None, limit: int = 100,
            offset: int = 0) -> list[Notice]:
    """Notices the user may see, newest first (one case's, when `case_id` is given)."""
    from cases.models import Case

    q = select(Notice).order_by(col(Notice.id).desc())
    if case_id is not None:
        get_case(session, user=user, case_id=case_id)
        q = q.where(Notice.case_id == case_id)
    elif not sees_all(user):
        q = q.join(Case, col(Case.id) == Notice.case_id).where(Case.township_id == (user.township_id or -1))
    return list(session.exec(q.offset(offset).limit(limit)).all())


def notice_dict(n: Notice) -> dict[str, Any]:
    return {"id": n.id, "number": n.number, "kind": n.kind, "title": n.data.get("title", n.kind),
            "case_id": n.case_id, "addressee": n.addressee, "issuer": n.issuer,
            "issued_on": n.issued_on.isoformat(), "verify_code": n.verify_code,
            "pdf": f"/api/v1/notices/{n.id}/pdf"}


def _renderer() -> Any:
    try:
        from cases.notices import render_notices
    except ImportError:
        return None
    return render_notices


def pdf_available() -> bool:
    return _renderer() is not None


def notice_pdf(session: Session, *, notice: Notice, district: District, data_dir: Path, key: str) -> Path:
    """The notice's PDF file: the one already rendered, else rendered now into the data dir."""
    if notice.pdf_path:
        existing = Path(notice.pdf_path)
        if not existing.is_absolute():
            existing = data_dir / existing
        if existing.is_file():
            return existing
    render = _renderer()
    if render is None:
        raise Unavailable(UNAVAILABLE_ZH, UNAVAILABLE_EN)
    out_dir = data_dir / "notices"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = render(session, [notice], district, out_dir, processes=1, key=key)
    if not paths:
        raise Unavailable("文书 PDF 生成失败，请稍后重试", "the notice could not be rendered")
    return Path(paths[0])


def pdf_filename(notice: Notice) -> str:
    title = notice.data.get("title", notice.kind)
    return f"{notice.number}{title}.pdf"
