"""Uploads within bounds: pixel budgets read from the header, bounded decoding memory, served names
with the extension of the detected type (on SQLite and PostgreSQL where a database is involved).
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageFile

from cases import evidence as ev
from cases.errors import InvalidInput
from tests.conftest import Driver, People

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from uploads import big_png  # noqa: E402  (the bench's builder of huge-but-tiny PNGs)

PDF_HTML = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>\n%%EOF\n"


def _jpeg(size: tuple[int, int] = (64, 32), orientation: int | None = None) -> bytes:
    img = Image.new("RGB", size, "red")
    out = io.BytesIO()
    if orientation is None:
        img.save(out, "JPEG")
    else:
        exif = Image.Exif()
        exif[0x0112] = orientation
        img.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _with_size(jpeg: bytes, width: int, height: int) -> bytes:
    """The same JPEG whose frame header claims another size (what a bomb would claim)."""
    at = jpeg.index(b"\xff\xc0") + 5  # marker, length (2), precision (1): then height, width
    return jpeg[:at] + height.to_bytes(2, "big") + width.to_bytes(2, "big") + jpeg[at + 4:]


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts full decodes (ImageFile.load) during a test."""
    calls: list[int] = []
    real = ImageFile.ImageFile.load

    def counted(self: ImageFile.ImageFile) -> object:
        calls.append(self.width * self.height)
        return real(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    return calls


def test_images_above_the_budget_are_refused_from_the_header(decodes: list[int]) -> None:
    bomb = big_png(7740, 7740)
    assert len(bomb) < 300_000
    with pytest.raises(InvalidInput, match="7740×7740"):
        ev._thumbnail(bomb, "image/png")
    with pytest.raises(InvalidInput, match="百万像素"):
        ev._thumbnail(_with_size(_jpeg(), 9000, 8000), "image/jpeg")
    with pytest.raises(InvalidInput):
        ev._thumbnail(_with_size(_jpeg(), 30000, 10), "image/jpeg")  # one side too long
    with pytest.raises(InvalidInput, match="尺寸过大"):
        ev._thumbnail(_with_size(_jpeg(), 65000, 65000), "image/jpeg")  # Pillow's own guard says so too
    assert decodes == []  # nothing was decoded


def test_images_within_the_budget_get_thumbnails_upright() -> None:
    thumb = Image.open(io.BytesIO(ev._thumbnail(big_png(3900, 3900, rgba=True), "image/png")))
    assert thumb.size == (320, 320)
    upright = Image.open(io.BytesIO(ev._thumbnail(_jpeg((640, 320), orientation=6), "image/jpeg")))
    assert upright.height > upright.width  # EXIF "rotate 90°" applied to the small copy


def test_ten_bombs_in_one_upload_are_refused(as_user, people: People, driver: Driver, data_dir: Path,
                                            decodes: list[int]) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    bomb = big_png(7740, 7740)
    files = [("files", (f"b{i}.png", bomb + bytes([i]), "image/png")) for i in range(10)]
    r = b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf}, files=files)
    assert r.status_code == 303  # the case page at its own address says why (post/redirect/get)
    assert "图片尺寸过大" in b.get(r.headers["location"]).text
    assert decodes == []
    assert not (data_dir / "evidence").exists()


def test_memory_stays_flat_under_concurrent_uploads() -> None:
    """Six requests of four 15-megapixel PNGs at once: the peak stays near DECODERS decodes."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "uploads.py"), "--child", "png15",
                          "--requests", "6", "--files", "4"], capture_output=True, text=True, check=True,
                         cwd=ROOT, timeout=300)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["statuses"] == [303] * 6
    # unbounded, six requests decode six images at once (~6 × 58 MB); bounded, about DECODERS
    assert r["peak_mb"] < (ev.DECODERS + 1.5) * r["decoded_mb"], r
    assert r["kept_mb"] < r["decoded_mb"], r


def test_downloads_carry_the_detected_extension(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    photo = _jpeg()
    files = [("files", ("evil.html", PDF_HTML, "text/html")), ("files", ("照片.png", photo, "image/png")),
             ("files", ("noext", _jpeg((10, 10)), "image/jpeg"))]
    r = b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf}, files=files)
    assert r.status_code == 303, r.text
    pdf = b.get(f"/cases/{case.id}/evidence/{hashlib.sha256(PDF_HTML).hexdigest()}")
    assert pdf.headers["content-type"] == "application/pdf"
    disposition = pdf.headers["content-disposition"]
    assert 'filename="evil.pdf"' in disposition and ".html" not in disposition
    sha = hashlib.sha256(photo).hexdigest()
    full = b.get(f"/cases/{case.id}/evidence/{sha}")
    assert "filename*=UTF-8''%E7%85%A7%E7%89%87.jpg" in full.headers["content-disposition"]
    thumb = b.get(f"/cases/{case.id}/evidence/{sha}?thumb=true")
    assert ".jpg" in thumb.headers["content-disposition"]
    assert ev.download_name("a.b.html", "application/pdf") == "a.b.pdf"
    assert ev.download_name(".htaccess", "image/png") == ".htaccess.png"
    assert ev.download_name("noext", "image/jpeg") == "noext.jpg"
