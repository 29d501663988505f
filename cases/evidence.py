"""Evidence files: checking an upload (type by magic bytes, size), storing it by content hash, thumbnails.

Files live under `<data_dir>/evidence/<first two hex digits>/<sha256>` (thumbnails beside them
as `<sha256>.thumb.jpg`). Paths are built from a validated hash only, so nothing a user sends
can name a file outside that folder, and files are always served with an explicit type.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import io
import logging
import os
import re
import tempfile
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlmodel import Session, select

from cases.errors import InvalidInput, NotFound
from cases.models import Case, Evidence, User
from cases.validation import for_terminal

_LOGGER = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10  # files attached at once, on every face
MAX_PDF_BYTES = 20 * 1024 * 1024
# Pixel budgets, checked from the file's header before anything is decoded. A JPEG is decoded
# at 1/8 scale for its thumbnail (`draft`), so a 64-megapixel photo costs ~1 MP of memory; a PNG
# has no such shortcut and is decoded whole (4 bytes a pixel), so its budget is lower.
MAX_PIXELS = {"image/jpeg": 64_000_000, "image/png": 16_000_000}
MAX_SIDE = 20_000
THUMB_SIZE = (320, 320)
# Images are decoded by a pool of DECODERS threads and nowhere else: at most that many decode at once,
# and the memory they use is reused by the same threads (C allocators keep freed memory per thread),
# so resident memory stays flat however many uploads arrive together.
DECODERS = 2
_DECODE_POOL = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="evidence-decode")


def _malloc_trim() -> Any:
    """glibc's `malloc_trim`, or None on a C library without it."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def _give_back_memory() -> None:
    """Return the freed pixels of a decode to the system: glibc otherwise keeps them in the decoder
    thread's arena, and a server that has taken in a few large photos stays tens of MB larger."""
    if _TRIM is not None:
        _TRIM(0)
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


def check_pixels(content_type: str, width: int, height: int) -> None:
    """Refuse an image whose header promises more pixels than its type's budget (before decoding it)."""
    budget = MAX_PIXELS.get(content_type, min(MAX_PIXELS.values()))
    if width <= 0 or height <= 0 or width > MAX_SIDE or height > MAX_SIDE or width * height > budget:
        raise InvalidInput(
            f"图片尺寸过大：{width}×{height} 像素（上限 {budget // 1_000_000} 百万像素），请缩小后再上传",
            f"the image is {width}×{height} pixels; the limit is {budget // 1_000_000} megapixels: resize it first")


def _reduced(img: Any) -> Any:
    """A box-averaged copy near the thumbnail's size, made without a full-size intermediate.

    Pillow's `reduce` and `resize` first copy an image with alpha whole (premultiplied); the
    thumbnail drops alpha anyway, so the core reduce is used directly on the decoded pixels.
    """
    factor = max(1, min(img.width // THUMB_SIZE[0], img.height // THUMB_SIZE[1]))
    if factor == 1 or img.mode not in ("L", "LA", "RGB", "RGBA"):
        return img
    return img._new(img.im.reduce((factor, factor), (0, 0, *img.size)))


def _with_orientation(original: Any, small: Any) -> Any:
    """The small copy turned upright by the original's EXIF orientation (a reduced copy has no EXIF)."""
    from PIL import ImageOps

    orientation = original.getexif().get(0x0112)
    if orientation in (None, 1):
        return small
    small.info["exif"] = original.info.get("exif", b"")
    small.getexif()[0x0112] = orientation
    return ImageOps.exif_transpose(small)


def _thumbnail(data: bytes, content_type: str = "image/jpeg") -> bytes:
    """Check that an image really decodes, and make a small JPEG of it (EXIF rotation applied).

    The size is read from the header first (`Image.open` decodes nothing) and checked against
    the pixel budget; a JPEG is then decoded at reduced scale (`draft`) and the rotation applied
    to the small image only. The work runs on the decoder pool (at most `DECODERS` at once).
    """
    return _DECODE_POOL.submit(_decode_and_trim, data, content_type).result()


def _decode_and_trim(data: bytes, content_type: str) -> bytes:
    try:
        return _decode_thumbnail(data, content_type)
    finally:
        _give_back_memory()


def _decode_thumbnail(data: bytes, content_type: str) -> bytes:
    from PIL import Image, ImageOps, UnidentifiedImageError

    # Pillow's own bomb guard, behind ours: it warns above this and refuses above twice this
    Image.MAX_IMAGE_PIXELS = 2 * max(MAX_PIXELS.values())
    try:
        with Image.open(io.BytesIO(data)) as probe:
            check_pixels(content_type, probe.width, probe.height)
            probe.verify()
        with Image.open(io.BytesIO(data)) as img:
            check_pixels(content_type, img.width, img.height)
            if img.format == "JPEG":
                img.draft("RGB", THUMB_SIZE)  # decode at 1/2, 1/4 or 1/8 scale: the JPEG's own shortcut
            img.load()
            small = _reduced(img)
            small.thumbnail(THUMB_SIZE)
            small = ImageOps.exif_transpose(small) if small is img else _with_orientation(img, small)
            out = io.BytesIO()
            small.convert("RGB").save(out, "JPEG", quality=80)
            return out.getvalue()
    except Image.DecompressionBombError as exc:
        raise InvalidInput("图片尺寸过大，请缩小后再上传", f"the image has far too many pixels: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise InvalidInput("图片文件已损坏或格式不符，无法识别", f"the image cannot be decoded: {exc}") from exc


def read_limited(stream: io.BufferedIOBase | object, limit: int = MAX_PDF_BYTES) -> bytes:
    """Read at most `limit` bytes from an upload; refuse anything larger."""
    data = stream.read(limit + 1)  # type: ignore[attr-defined]
    if len(data) > limit:
        raise InvalidInput(f"文件过大（上限 {limit // 1024 // 1024} MB）", f"file too large (limit {limit} bytes)")
    return bytes(data)


def read_path(path: Path) -> bytes:
    """A local file to keep as evidence (the CLI's `--evidence`), read within the size limit."""
    shown = for_terminal(str(path))
    if not path.exists():
        raise InvalidInput(f"证据文件不存在：{shown}", f"no such evidence file: {shown}", cli="--evidence")
    if not path.is_file():
        raise InvalidInput(f"证据须为文件，{shown} 不是文件", f"evidence must be a file: {shown} is not",
                           cli="--evidence")
    try:
        with path.open("rb") as f:
            return read_limited(f)
    except OSError as exc:
        raise InvalidInput(f"无法读取证据文件 {shown}：{exc.strerror}", f"cannot read {shown}: {exc.strerror}",
                           cli="--evidence") from None


@dataclass(frozen=True)
class Kept:
    """A checked file in the content store, not yet attached to a case."""

    sha256: str
    filename: str
    content_type: str
    size: int
    thumbnail: bool

    def as_dict(self) -> dict[str, object]:
        return {"sha256": self.sha256, "filename": self.filename, "content_type": self.content_type,
                "size": self.size, "thumbnail": self.thumbnail}


def keep(*, data_dir: Path, filename: str | None, data: bytes) -> Kept:
    """Check one uploaded file (type by content, size, an image that decodes) and write it to the store."""
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
    thumb = _thumbnail(data, kind.content_type) if kind.content_type.startswith("image/") else None
    sha = hashlib.sha256(data).hexdigest()
    _write_once(file_path(data_dir, sha), data)
    if thumb is not None:
        _write_once(file_path(data_dir, sha, thumb=True), thumb)
    return Kept(sha256=sha, filename=clean_filename(filename), content_type=kind.content_type, size=len(data),
                thumbnail=thumb is not None)


def attach(session: Session, *, case_id: int, user: User, kept: Kept, now: datetime, commit: bool = True) -> Evidence:
    """Make a kept file evidence of a case (once per case and content).

    With `commit=False` the row joins the caller's transaction (the CLI attaches files and fires the
    transition that cites them together: a refused transition leaves no evidence row behind).
    """
    row = session.exec(select(Evidence).where(Evidence.case_id == case_id, Evidence.sha256 == kept.sha256)).first()
    if row is None:
        row = Evidence(case_id=case_id, sha256=kept.sha256, filename=kept.filename,
                       content_type=kept.content_type, size=kept.size, thumbnail=kept.thumbnail,
                       uploaded_by=user.id, uploaded_at=now)
        session.add(row)
        if not commit:
            session.flush()
            return row
        session.commit()
        _LOGGER.info("case %s: evidence %s (%s, %d bytes) by %s", case_id, kept.sha256[:12], kept.content_type,
                     kept.size, user.name)
    return row


def store(session: Session, *, data_dir: Path, case: Case, user: User, filename: str | None, data: bytes,
          now: datetime) -> Evidence:
    """Check and keep one uploaded file for a case the user may see; the same file twice is kept once."""
    kept = keep(data_dir=data_dir, filename=filename, data=data)
    assert case.id is not None
    return attach(session, case_id=case.id, user=user, kept=kept, now=now)


def find(session: Session, *, case_id: int, sha256: str) -> Evidence:
    row = session.exec(select(Evidence).where(Evidence.case_id == case_id, Evidence.sha256 == sha256)).first()
    if row is None:
        raise NotFound("证据文件不存在", "no such evidence file for this case")
    return row


def download_name(filename: str, content_type: str) -> str:
    """The name a file is served under: the uploaded name with the extension of its detected type.

    A PDF uploaded as `evil.html` downloads as `evil.pdf`, so the saved copy opens as what it is.
    """
    ext = EXTENSIONS.get(content_type)
    if ext is None:
        return filename
    stem = filename
    if "." in filename.lstrip("."):
        stem = filename.rsplit(".", 1)[0]
    return f"{stem or 'evidence'}{ext}"


def disposition(kind: str, filename: str, fallback: str = "evidence") -> str:
    """`inline` for pictures, `attachment` for PDFs; the name in RFC 5987 form, `fallback` for old clients.

    Both names carry the extension of the served type, whatever the uploader called the file.
    """
    mode = "inline" if kind.startswith("image/") else "attachment"
    filename = download_name(clean_filename(filename), kind)
    fallback = download_name(fallback, kind)
    ascii_name = filename if re.fullmatch(r"[A-Za-z0-9._-]+", filename) else fallback
    return f"{mode}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
