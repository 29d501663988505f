"""Is this PDF a notice we issued, unaltered? genuine / altered / unknown.

genuine: the file's sha256 equals the one recorded when the notice was rendered.
altered: the file names a notice we issued (its verification code or number, found in the
         uncompressed XMP packet, the document info or the page text) but its bytes differ.
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

from sqlmodel import Session, select

from cases.models import Notice
from cases.notices.codes import CODE_LENGTH, CROCKFORD, display_code, normalize_code

_LOGGER = logging.getLogger(__name__)

Status = Literal["genuine", "altered", "unknown"]

STATUS_ZH: dict[str, str] = {"genuine": "真实有效", "altered": "已被改动", "unknown": "无法识别"}

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
                "issued_on": self.issued_on, "detail": self.detail}


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
    pypdf_log.setLevel(logging.ERROR)
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


def verify_bytes(session: Session, data: bytes) -> VerifyResult:
    """Judge the bytes of a PDF against the notices on record."""
    sha = hashlib.sha256(data).hexdigest()
    notice = session.exec(select(Notice).where(Notice.pdf_sha256 == sha)).first()
    if notice is not None:
        return _result("genuine", sha, notice, "文件与签发记录一致 / the file matches the issued notice")
    claims = _claims(data)
    for code in claims.codes:
        notice = session.exec(select(Notice).where(Notice.verify_code == normalize_code(code))).first()
        if notice is not None:
            return _result("altered", sha, notice,
                           "文件载有本系统文书的验证码，但内容与签发记录不一致 / "
                           "the file carries our verification code but its bytes differ from the issued notice")
    for number in claims.numbers:
        notice = session.exec(select(Notice).where(Notice.number == number)).first()
        if notice is not None:
            return _result("altered", sha, notice,
                           "文件载有本系统文书的文号，但内容与签发记录不一致 / "
                           "the file carries our notice number but its bytes differ from the issued notice")
    for digest in claims.content_hashes:
        notice = session.exec(select(Notice).where(Notice.content_hash == digest)).first()
        if notice is not None:
            return _result("altered", sha, notice, "内容哈希匹配但文件不一致 / content hash known, file differs")
    return VerifyResult(status="unknown", sha256=sha,
                        detail="文件中没有本系统文书的标识 / nothing in the file names a notice of ours")


def verify_pdf(session: Session, path: Path | str) -> VerifyResult:
    """Judge a PDF file: genuine (sha256 on record), altered (names a notice, bytes differ), unknown."""
    return verify_bytes(session, Path(path).read_bytes())


def find_by_code(session: Session, code: str) -> Notice | None:
    """The notice with this verification code as a person typed it (dashes, lower case, O for 0)."""
    return session.exec(select(Notice).where(Notice.verify_code == normalize_code(code))).first()


def _result(status: Status, sha: str, notice: Notice, detail: str) -> VerifyResult:
    return VerifyResult(status=status, sha256=sha, notice_id=notice.id, number=notice.number,
                        kind=notice.kind, verify_code=notice.verify_code,
                        issued_on=notice.issued_on.isoformat() if notice.issued_on else "", detail=detail)
