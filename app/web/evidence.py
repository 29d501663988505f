"""Evidence files: checking an upload (type by magic bytes, size), storing it by content hash, thumbnails.

Files live under `<data_dir>/evidence/<first two hex digits>/<sha256>` (thumbnails beside them
as `<sha256>.thumb.jpg`). Paths are built from a validated hash only, so nothing a user sends
can name a file outside that folder, and files are always served with an explicit type.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session, select

from cases.errors import InvalidInput, NotFound
from cases.models import Case, Evidence, User

_LOGGER = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 60_000_000
THUMB_SIZE = (320, 320)
SHA_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Kind:
    content_type: str
    magic: tuple[bytes, ...]
    limit: int
    zh: str


KINDS = (
    Kind("image/jpeg", (b"\xff\xd8\xff",), MAX_IMAGE_BYTES, "JPEG 照片"),
    Kind("image/png", (b"\x89PNG\r\n\x1a\n",), MAX_IMAGE_BYTES, "PNG 图片"),
    Kind("application/pdf", (b"%PDF-",), MAX_PDF_BYTES, "PDF 文件"),
)
ACCEPT = ",".join(k.content_type for k in KINDS)
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}


def sniff(head: bytes) -> Kind | None:
    """The kind of a file by its first bytes (never by its name or the browser's claim)."""
    return next((k for k in KINDS if any(head.startswith(m) for m in k.magic)), None)


def clean_filename(name: str | None) -> str:
    """The uploaded name without folders or control characters, for display and downloads only."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip().strip(".")
    return base[:120] or "evidence"


def file_path(data_dir: Path, sha256: str, *, thumb: bool = False) -> Path:
    if not SHA_RE.fullmatch(sha256):
        raise NotFound("证据文件不存在", "no such evidence file")
    folder = data_dir / "evidence" / sha256[:2]
    return folder / (f"{sha256}.thumb.jpg" if thumb else sha256)


def _write_once(path: Path, data: bytes) -> None:
    """Write atomically, and only once: the same content hash means the same file."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _thumbnail(data: bytes) -> bytes:
    """Check that an image really decodes, and make a small JPEG of it (EXIF rotation applied)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput("图片像素过大", "the image has too many pixels")
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            img = ImageOps.exif_transpose(img)
            img.thumbnail(THUMB_SIZE)
            out = io.BytesIO()
            img.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InvalidInput("图片文件已损坏或格式不符，无法识别", f"the image cannot be decoded: {exc}") from exc


def read_limited(stream: io.BufferedIOBase | object, limit: int = MAX_PDF_BYTES) -> bytes:
    """Read at most `limit` bytes from an upload; refuse anything larger."""
    data = stream.read(limit + 1)  # type: ignore[attr-defined]
    if len(data) > limit:
        raise InvalidInput(f"文件过大（上限 {limit // 1024 // 1024} MB）", f"file too large (limit {limit} bytes)")
    return bytes(data)


def store(session: Session, *, data_dir: Path, case: Case, user: User, filename: str | None, data: bytes,
          now: datetime) -> Evidence:
    """Check and keep one uploaded file for a case the user may see; the same file twice is kept once."""
    if not data:
        raise InvalidInput("文件为空", "the file is empty")
    kind = sniff(data[:16])
    if kind is None:
        allowed = "、".join(k.zh for k in KINDS)
        raise InvalidInput(f"只能上传 {allowed}（按文件内容识别，不看扩展名）",
                           "only JPEG, PNG or PDF files (judged by their content, not their name)")
    if len(data) > kind.limit:
        raise InvalidInput(f"{kind.zh}不能超过 {kind.limit // 1024 // 1024} MB",
                           f"{kind.content_type} files are limited to {kind.limit} bytes")
    thumb = _thumbnail(data) if kind.content_type.startswith("image/") else None
    sha = hashlib.sha256(data).hexdigest()
    _write_once(file_path(data_dir, sha), data)
    if thumb is not None:
        _write_once(file_path(data_dir, sha, thumb=True), thumb)
    assert case.id is not None
    row = session.exec(select(Evidence).where(Evidence.case_id == case.id, Evidence.sha256 == sha)).first()
    if row is None:
        row = Evidence(case_id=case.id, sha256=sha, filename=clean_filename(filename),
                       content_type=kind.content_type, size=len(data), thumbnail=thumb is not None,
                       uploaded_by=user.id, uploaded_at=now)
        session.add(row)
        session.commit()
        _LOGGER.info("case %s: evidence %s (%s, %d bytes) by %s", case.id, sha[:12], kind.content_type,
                     len(data), user.name)
    return row


def find(session: Session, *, case_id: int, sha256: str) -> Evidence:
    row = session.exec(select(Evidence).where(Evidence.case_id == case_id, Evidence.sha256 == sha256)).first()
    if row is None:
        raise NotFound("证据文件不存在", "no such evidence file for this case")
    return row


def disposition(kind: str, filename: str, fallback: str = "evidence") -> str:
    """`inline` for pictures, `attachment` for PDFs; the name in RFC 5987 form, `fallback` for old clients."""
    mode = "inline" if kind.startswith("image/") else "attachment"
    ascii_name = filename if re.fullmatch(r"[A-Za-z0-9._-]+", filename) else fallback
    return f"{mode}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
