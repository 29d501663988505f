"""`case do … --evidence FILE`: files checked before the case is touched, attached in the transition's
transaction, cited by its audit event; a bad file or a refused transition leaves nothing behind."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from cases.db import make_engine
from tests.app.test_cli import _new_case, db, js, run  # noqa: F401  (the `db` fixture)


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TUOYOU_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def _jpeg(path: Path) -> Path:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (180, 90, 40)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def _png_bomb(path: Path) -> Path:
    """A small PNG whose header claims 50,000 × 50,000 pixels."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 100))
                     + chunk(b"IEND", b""))
    return path


def _evidence_rows(db_url: str) -> list[tuple[int, str, str]]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT case_id, filename, content_type FROM evidence ORDER BY id"))]  # type: ignore[misc]
    finally:
        engine.dispose()


def test_evidence_files_are_attached_and_cited_by_the_event(db: str, tmp_path: Path,  # noqa: F811
                                                            _data_dir: Path) -> None:
    cid = str(_new_case(db))
    run("case", "do", cid, "start_review", "--as", "insp", "--db", db)
    photo = _jpeg(tmp_path / "现场照片.jpg")
    pdf = tmp_path / "record.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    js("case", "do", cid, "order_rectification", "--fail", "R01", "--as", "insp", "--evidence", str(photo),
       "--evidence", str(pdf), "--evidence", str(photo), "--db", db)
    want = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (photo, pdf)]
    timeline = js("case", "show", cid, "--db", db)["timeline"]
    assert timeline[-1]["trigger"] == "order_rectification" and timeline[-1]["evidence"] == want
    assert _evidence_rows(db) == [(int(cid), "现场照片.jpg", "image/jpeg"), (int(cid), "record.pdf", "application/pdf")]
    assert (_data_dir / "evidence" / want[0][:2] / want[0]).read_bytes() == photo.read_bytes()
    assert (_data_dir / "evidence" / want[0][:2] / f"{want[0]}.thumb.jpg").is_file()
    run("audit", "verify", "--db", db)


@pytest.mark.parametrize("bad", ["missing", "directory", "html", "bomb"])
def test_a_bad_file_is_named_and_nothing_changes(db: str, tmp_path: Path, bad: str) -> None:  # noqa: F811
    cid = str(_new_case(db))
    run("case", "do", cid, "start_review", "--as", "insp", "--db", db)
    before = js("case", "show", cid, "--db", db)
    good = _jpeg(tmp_path / "good.jpg")
    path = {"missing": tmp_path / "nope.jpg", "directory": tmp_path, "html": tmp_path / "evil.jpg",
            "bomb": _png_bomb(tmp_path / "big.png")}[bad]
    if bad == "html":
        path.write_text("<html><script>alert(1)</script></html>")
    r = run("case", "do", cid, "order_rectification", "--fail", "R01", "--as", "insp", "--evidence", str(good),
            "--evidence", str(path), "--db", db, ok=False)
    assert r.exit_code == 2 and "--evidence" in r.stderr, r.stderr
    assert {"missing": "不存在", "directory": "不是文件", "html": "按文件内容识别", "bomb": "图片"}[bad] in r.stderr
    assert str(path.name) in r.stderr
    assert js("case", "show", cid, "--db", db) == before
    assert _evidence_rows(db) == []


def test_a_refused_transition_attaches_nothing(db: str, tmp_path: Path) -> None:  # noqa: F811
    cid = str(_new_case(db))
    photo = _jpeg(tmp_path / "p.jpg")
    r = run("case", "do", cid, "approve", "--as", "rev", "--evidence", str(photo), "--db", db, ok=False)
    assert r.exit_code == 3
    r = run("case", "do", cid, "start_review", "--as", "insp2", "--evidence", str(photo), "--db", db, ok=False)
    assert r.exit_code == 4  # another township's case: not found, and no file attached to it
    assert _evidence_rows(db) == []
    run("case", "do", cid, "start_review", "--as", "insp", "--evidence", str(photo), "--db", db)
    assert [row[0] for row in _evidence_rows(db)] == [int(cid)]


def test_too_many_files_at_once(db: str, tmp_path: Path) -> None:  # noqa: F811
    cid = str(_new_case(db))
    photo = _jpeg(tmp_path / "p.jpg")
    args = [a for _ in range(11) for a in ("--evidence", str(photo))]
    r = run("case", "do", cid, "start_review", "--as", "insp", *args, "--db", db, ok=False)
    assert r.exit_code == 2 and "最多" in r.stderr and "at most 10" in r.stderr
