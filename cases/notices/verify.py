"""Is this PDF a notice we issued, unaltered? genuine / altered / damaged / unknown.

Every rendering of a notice is kept (`notice_rendering`: file sha256 and the canonical drawn
content, see `fingerprint`), so a re-render never disowns a copy already served.

genuine: the file is byte for byte one we issued, or it draws exactly what one of the notice's
         renderings draws (text, glyph outlines from the embedded fonts, lines, images): a copy
         re-saved by qpdf, pypdf, Ghostscript or a PDF printer stays genuine.
altered: the file names a notice of ours (verification code or number, in the uncompressed XMP
         packet, the document info or the page text) but draws something else, or is damaged.
damaged: a PDF that cannot be read and names no notice.
unknown: nothing in the file points to a notice of ours.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlmodel import Session, col, select

from cases import audit
from cases.models import Notice, NoticeRendering, utcnow
from cases.notices import fingerprint
from cases.notices.codes import CODE_LENGTH, CROCKFORD, display_code, normalize_code

_LOGGER = logging.getLogger(__name__)

Status = Literal["genuine", "altered", "damaged", "unknown"]

STATUS_ZH: dict[str, str] = {"genuine": "真实有效", "altered": "已被改动", "damaged": "文件已损坏",
                             "unknown": "无法识别"}

_XMP_CODE = re.compile(rb"<tuoyou:verifyCode>([0-9A-Z]{" + str(CODE_LENGTH).encode() + rb"})</tuoyou:verifyCode>")
_XMP_NUMBER = re.compile(rb"<tuoyou:number>([^<]{1,64})</tuoyou:number>")
_XMP_HASH = re.compile(rb"<tuoyou:contentHash>([0-9a-f]{64})</tuoyou:contentHash>")
_TEXT_CODE = re.compile(rf"验证码\s*[:：]?\s*([{CROCKFORD}]{{5}})-?([{CROCKFORD}]{{5}})")
_KEYWORD_CODE = re.compile(rf"tuoyou-verify:([0-9A-Z]{{{CODE_LENGTH}}})")
_TEXT_NUMBER = re.compile(r"\S{1,20}〔\d{4}〕\d{1,6}号")


@dataclass(frozen=True)
class VerifyResult:
    """What `verify_pdf` found out about a file."""

    status: Status
    sha256: str
    notice_id: int | None = None
    number: str = ""
    kind: str = ""
    verify_code: str = ""
    issued_on: str = ""
    detail: str = ""
    exact: bool = False  # the very bytes issued (not only the same content)
    fingerprint: str = ""  # the content fingerprint of the rendering it matched

    @property
    def genuine(self) -> bool:
        return self.status == "genuine"

    @property
    def status_zh(self) -> str:
        return STATUS_ZH[self.status]

    def as_dict(self) -> dict[str, object]:
        return {"status": self.status, "status_zh": self.status_zh, "sha256": self.sha256,
                "notice_id": self.notice_id, "number": self.number, "kind": self.kind,
                "verify_code": display_code(self.verify_code) if self.verify_code else "",
                "issued_on": self.issued_on, "detail": self.detail, "exact": self.exact,
                "fingerprint": self.fingerprint}


# -- renderings ------------------------------------------------------------------------------


def record_rendering(session: Session, notice: Notice, *, sha256: str, path: Path | str | None = None,
                     data: bytes | None = None, content: fingerprint.Content | None = None) -> NoticeRendering:
    """Keep a rendering of `notice` (once per file hash); with `data` or `content` its drawn content too.

    Runs in the caller's transaction (flushes, does not commit).
    """
    assert notice.id is not None
    row = session.exec(select(NoticeRendering).where(NoticeRendering.notice_id == notice.id,
                                                     NoticeRendering.sha256 == sha256)).first()
    if row is None:
        row = NoticeRendering(notice_id=notice.id, sha256=sha256, size=len(data) if data is not None else 0,
                              path=str(path or ""), rendered_at=utcnow())
        session.add(row)
        session.flush()
        if notice.case_id is not None:  # each rendering is its own event in the case's chain
            ev = audit.append_event(session, case_id=notice.case_id, trigger=audit.RENDER,
                                    actor_id=_system_id(session), notice_number=notice.number,
                                    data={"notice": notice.number, "sha256": sha256, "rendering": row.id},
                                    at=row.rendered_at)
            row.event_id = ev.id
            session.add(row)
            session.flush()
    elif path and row.path != str(path):
        row.path = str(path)
        session.add(row)
    if row.content is None and (content is not None or data is not None):
        _store_content(session, row, content if content is not None else _extract_or_none(data or b""))
    return row


def _system_id(session: Session) -> int | None:
    from cases.models import User
    from cases.users import SYSTEM_USER

    return session.exec(select(User.id).where(User.name == SYSTEM_USER)).first()


def _extract_or_none(data: bytes) -> fingerprint.Content | None:
    try:
        return fingerprint.extract(data)
    except fingerprint.Unreadable as exc:
        _LOGGER.warning("a rendering we issued cannot be read back: %s", exc)
        return None


def _store_content(session: Session, row: NoticeRendering, content: fingerprint.Content | None) -> None:
    if content is None:
        return
    row.content = content.pack()
    row.fingerprint = content.fingerprint
    session.add(row)
    session.flush()


def ensure_content(session: Session, row: NoticeRendering) -> fingerprint.Content | None:
    """The rendering's drawn content, read from its file on first need (while the file is still that rendering)."""
    if row.content is not None:
        return fingerprint.Content.unpack(row.content)
    if not row.path:
        return None
    path = Path(row.path)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        return None  # the file was rendered again since: that rendering's content is not on disk any more
    content = _extract_or_none(data)
    if content is not None:
        row.size = len(data)
        _store_content(session, row, content)
    return content


def fill_missing_contents(session: Session, limit: int = 10) -> int:
    """Read back the content of renderings recorded without it (the scheduler's sweep calls this)."""
    rows = session.exec(select(NoticeRendering).where(col(NoticeRendering.content).is_(None))
                        .order_by(col(NoticeRendering.id)).limit(limit)).all()
    done = 0
    for row in rows:
        if ensure_content(session, row) is not None:
            done += 1
    session.commit()
    return done


def renderings(session: Session, notice_id: int) -> list[NoticeRendering]:
    """Every rendering of a notice, oldest first."""
    return list(session.exec(select(NoticeRendering).where(NoticeRendering.notice_id == notice_id)
                             .order_by(col(NoticeRendering.id))).all())


# -- claims ----------------------------------------------------------------------------------


@dataclass
class _Claims:
    codes: list[str]
    numbers: list[str]
    content_hashes: list[str]


def _add(seq: list[str], value: str) -> None:
    if value and value not in seq:
        seq.append(value)


def _claims(data: bytes) -> _Claims:
    """Every verification code, number and content hash the file claims, from three places."""
    claims = _Claims([], [], [])
    # 1. The uncompressed XMP packet: readable even when the PDF structure is damaged.
    for m in _XMP_CODE.finditer(data):
        _add(claims.codes, m.group(1).decode("ascii"))
    for m in _XMP_NUMBER.finditer(data):
        _add(claims.numbers, m.group(1).decode("utf-8", "replace"))
    for m in _XMP_HASH.finditer(data):
        _add(claims.content_hashes, m.group(1).decode("ascii"))
    # 2. and 3. The document info (keywords) and the text of the pages, through pypdf
    #    (quietly: a damaged file makes pypdf warn about what we are about to report anyway).
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data), strict=False)
        meta = reader.metadata or {}
        keywords = str(meta.get("/Keywords", "") or "")
        for m in _KEYWORD_CODE.finditer(keywords):
            _add(claims.codes, m.group(1))
        for m in _TEXT_NUMBER.finditer(keywords):
            _add(claims.numbers, m.group(0))
        for page in reader.pages[:3]:
            text = page.extract_text() or ""
            for m in _TEXT_CODE.finditer(text):
                _add(claims.codes, m.group(1) + m.group(2))
            for m in _TEXT_NUMBER.finditer(text):
                _add(claims.numbers, m.group(0))
    except Exception as exc:  # a damaged file is exactly what we must still judge
        _LOGGER.debug("pypdf could not read the file: %s", exc)
    finally:
        pypdf_log.setLevel(level)
    return claims


def _claimed_notice(session: Session, claims: _Claims) -> Notice | None:
    for code in claims.codes:
        notice = session.exec(select(Notice).where(Notice.verify_code == normalize_code(code))).first()
        if notice is not None:
            return notice
    for number in claims.numbers:
        notice = session.exec(select(Notice).where(Notice.number == number)).first()
        if notice is not None:
            return notice
    for digest in claims.content_hashes:
        notice = session.exec(select(Notice).where(Notice.content_hash == digest)).first()
        if notice is not None:
            return notice
    return None


# -- judging ---------------------------------------------------------------------------------


def verify_bytes(session: Session, data: bytes) -> VerifyResult:
    """Judge the bytes of a PDF against the notices on record."""
    sha = hashlib.sha256(data).hexdigest()
    exact = session.exec(select(NoticeRendering).where(NoticeRendering.sha256 == sha)).first()
    if exact is not None:
        notice = session.get(Notice, exact.notice_id)
        if notice is not None:
            return _result("genuine", sha, notice, "文件与签发文件完全一致 / the file is exactly as issued",
                           exact=True, fp=exact.fingerprint)
    notice = session.exec(select(Notice).where(Notice.pdf_sha256 == sha)).first()
    if notice is not None:  # issued before renderings were kept
        return _result("genuine", sha, notice, "文件与签发文件完全一致 / the file is exactly as issued", exact=True)
    claimed = _claimed_notice(session, _claims(data))
    try:
        content = fingerprint.extract(data)
    except fingerprint.Unreadable as exc:
        _LOGGER.debug("unreadable PDF: %s", exc)
        if claimed is not None:
            return _result("altered", sha, claimed,
                           "文件已损坏或不完整，无法读出内容，不能作为本系统签发的文书 / the file names our notice "
                           "but is damaged or truncated: its content cannot be read")
        if b"%PDF-" in data[:1024]:
            return VerifyResult(status="damaged", sha256=sha,
                                detail="文件已损坏或不完整，无法读出内容 / the PDF is damaged or truncated")
        return VerifyResult(status="unknown", sha256=sha,
                            detail="不是 PDF 文件，也没有本系统文书的标识 / not a PDF and names no notice of ours")
    if claimed is None:
        return VerifyResult(status="unknown", sha256=sha,
                            detail="文件中没有本系统文书的标识 / nothing in the file names a notice of ours")
    assert claimed.id is not None
    first: fingerprint.Difference | None = None
    rows = renderings(session, claimed.id)
    for row in reversed(rows):
        issued = ensure_content(session, row)
        if issued is None:
            continue
        diff = fingerprint.compare(issued, content)
        if diff is None:
            session.commit()
            return _result("genuine", sha, claimed,
                           "文件内容（文字、字形、图形、图像）与签发文件一致，文件经其他程序另存 / the content "
                           "(text, glyphs, drawing, images) is as issued; the file was re-saved by another program",
                           fp=row.fingerprint)
        first = first or diff
    session.commit()
    if first is not None:
        detail = (f"文件载有本系统文书的标识，但内容与签发文件不一致：{first.zh} / "
                  f"the file names our notice but its content differs: {first.en}")
    elif rows:
        detail = ("文件载有本系统文书的标识，但签发文件的内容记录不可用，无法确认 / the file names our notice "
                  "but the issued content is not on record, so it cannot be confirmed")
    else:
        detail = ("文件载有本系统文书的标识，但该文书没有签发文件记录 / the file names our notice "
                  "but no issued file is on record")
    return _result("altered", sha, claimed, detail)


def verify_pdf(session: Session, path: Path | str) -> VerifyResult:
    """Judge a PDF file: genuine, altered, damaged or unknown."""
    return verify_bytes(session, Path(path).read_bytes())


def find_by_code(session: Session, code: str) -> Notice | None:
    """The notice with this verification code as a person typed it (dashes, lower case, O for 0)."""
    normal = normalize_code(code)
    if len(normal) != CODE_LENGTH or any(ch not in CROCKFORD for ch in normal):
        return None
    return session.exec(select(Notice).where(Notice.verify_code == normal)).first()


def _result(status: Status, sha: str, notice: Notice, detail: str, *, exact: bool = False,
            fp: str = "") -> VerifyResult:
    return VerifyResult(status=status, sha256=sha, notice_id=notice.id, number=notice.number,
                        kind=notice.kind, verify_code=notice.verify_code,
                        issued_on=notice.issued_on.isoformat() if notice.issued_on else "", detail=detail,
                        exact=exact, fingerprint=fp)


# -- public status ---------------------------------------------------------------------------

#: A later notice of one of these kinds, on the same case, replaces a notice of the key's kind.
SUPERSEDED_BY: dict[str, frozenset[str]] = {
    "rectification_order": frozenset({"rectification_order", "reinspection_opinion", "filing_receipt",
                                      "refusal_notice", "suspension_order", "ban_decision"}),
    "reinspection_opinion": frozenset({"rectification_order", "reinspection_opinion", "filing_receipt",
                                       "refusal_notice", "suspension_order", "ban_decision"}),
    "filing_receipt": frozenset({"refusal_notice", "suspension_order", "ban_decision"}),
    "suspension_order": frozenset({"ban_decision"}),
}
#: Supervision notices are replaced by a later rung for the same missed deadline.
_SUPERVISION = frozenset({"supervision_notice", "listed_supervision"})


@dataclass(frozen=True)
class PublicStatus:
    """What the public verification page says about a notice: no more than the paper does."""

    in_force: bool
    zh: str
    en: str


def notice_status(session: Session, notice: Notice) -> PublicStatus:
    """In force, or superseded by a later notice of the same case (a new round, an outcome, a higher rung)."""
    if notice.case_id is not None and notice.id is not None:
        later = session.exec(select(Notice.kind, Notice.data).where(
            Notice.case_id == notice.case_id, col(Notice.id) > notice.id)).all()
        replacing = SUPERSEDED_BY.get(notice.kind, frozenset())
        missed = (notice.data or {}).get("missed_deadline")
        for kind, data in later:
            if kind in replacing or (notice.kind in _SUPERVISION and kind in _SUPERVISION and missed
                                     and (data or {}).get("missed_deadline") == missed):
                return PublicStatus(False, "已被后续文书取代", "superseded by a later notice")
    return PublicStatus(True, "有效", "in force")
