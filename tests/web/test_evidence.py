"""Evidence uploads: type by magic bytes, size limits, storage by hash, thumbnails, safe serving, scoping."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from PIL import Image
from sqlmodel import Session, select

from cases.evidence import MAX_IMAGE_BYTES, clean_filename, file_path
from cases.models import CaseEvent, Evidence
from tests.conftest import Driver, People


def jpeg(color: str = "red", size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (50, 50), "blue").save(out, "PNG")
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_upload_store_and_serve(as_user, people: People, driver: Driver, data_dir: Path, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    photo = jpeg()
    files = [("files", ("现场 照片.jpg", photo, "image/jpeg")), ("files", ("平面图.png", png(), "image/png")),
             ("files", ("许可.pdf", PDF, "application/pdf"))]
    r = b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf}, files=files)
    assert r.status_code == 303, r.text
    sha = hashlib.sha256(photo).hexdigest()
    stored = file_path(data_dir, sha)
    assert stored.read_bytes() == photo
    assert stored.is_relative_to(data_dir / "evidence")
    assert file_path(data_dir, sha, thumb=True).is_file()
    page = b.get(f"/cases/{case.id}").text
    assert f"/cases/{case.id}/evidence/{sha}?thumb=true" in page and "许可.pdf" in page
    full = b.get(f"/cases/{case.id}/evidence/{sha}")
    assert full.status_code == 200 and full.content == photo
    assert full.headers["content-type"] == "image/jpeg"
    assert full.headers["x-content-type-options"] == "nosniff"
    assert full.headers["content-disposition"].startswith("inline;")
    assert "sandbox" in full.headers["content-security-policy"]
    thumb = b.get(f"/cases/{case.id}/evidence/{sha}?thumb=true")
    assert thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    pdf = b.get(f"/cases/{case.id}/evidence/{hashlib.sha256(PDF).hexdigest()}")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    # uploading the same photo again keeps one row
    b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf},
                  files=[("files", ("again.jpg", photo, "image/jpeg"))])
    with Session(engine) as s:
        assert len(s.exec(select(Evidence).where(Evidence.case_id == case.id)).all()) == 3


def test_type_is_judged_by_content(as_user, people: People, driver: Driver, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    for name, data in (("evil.jpg", b"<html><script>alert(1)</script></html>"),
                       ("fake.png", b"\x89PNG\r\n\x1a\nnot really a png"),
                       ("empty.pdf", b"")):
        r = b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf},
                          files=[("files", (name, data, "image/jpeg"))])
        assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}#evidence", name
        page = b.get(f"/cases/{case.id}").text
        assert 'class="alert error"' in page and ("只能上传" in page or "无法识别" in page or "为空" in page), name
    assert not (data_dir / "evidence").exists() or not any((data_dir / "evidence").rglob("*.thumb.jpg"))


def test_size_limit(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    big = b"\xff\xd8\xff" + b"\0" * MAX_IMAGE_BYTES
    r = b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf},
                      files=[("files", ("big.jpg", big, "image/jpeg"))])
    assert r.status_code == 303 and "10 MB" in b.get(f"/cases/{case.id}").text


def test_another_township_sees_no_evidence(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    photo = jpeg("green")
    b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf},
                  files=[("files", ("p.jpg", photo, "image/jpeg"))])
    sha = hashlib.sha256(photo).hexdigest()
    other = as_user(people.other_inspector)
    assert other.get(f"/cases/{case.id}/evidence/{sha}").status_code == 404
    r = other.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": other.csrf},
                          files=[("files", ("p.jpg", photo, "image/jpeg"))])
    assert r.status_code == 404
    # a case that exists but lacks this file, and a path that is not a hash
    own = driver.open(town=people.other_town, actor=people.other_inspector)
    assert other.get(f"/cases/{own.id}/evidence/{sha}").status_code == 404
    assert other.get(f"/cases/{own.id}/evidence/..%2F..%2Fetc%2Fpasswd").status_code in (404, 400)


def test_evidence_attached_to_an_action(as_user, people: People, driver: Driver, district, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    b = as_user(people.inspector)
    earlier, onsite = jpeg("yellow"), jpeg("purple")
    b.client.post(f"/cases/{case.id}/evidence", data={"csrf_token": b.csrf},
                  files=[("files", ("earlier.jpg", earlier, "image/jpeg"))])
    h_earlier, h_onsite = hashlib.sha256(earlier).hexdigest(), hashlib.sha256(onsite).hexdigest()
    code = district.checklist[0].code
    marks = {f"item_{i.code}": "pass" for i in district.checklist} | {f"item_{code}": "fail"}
    item_photo = jpeg("orange")
    h_item = hashlib.sha256(item_photo).hexdigest()
    r = b.client.post(f"/cases/{case.id}/inspect", data={"csrf_token": b.csrf, **marks},
                      files=[(f"files_{code}", ("item.jpg", item_photo, "image/jpeg"))])
    assert r.status_code == 303, r.text
    r = b.client.post(f"/cases/{case.id}/do", data={
        "csrf_token": b.csrf, "trigger": "order_rectification", "expected_version": str(case.version),
        "evidence": [h_earlier]}, files=[("files", ("onsite.jpg", onsite, "image/jpeg"))])
    assert r.status_code == 303, r.text
    with Session(engine) as s:
        ev = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                            CaseEvent.trigger == "order_rectification")).one()
        assert ev.evidence == [h_earlier, h_onsite]
        assert ev.data["item_evidence"] == {code: [h_item]}  # the item's photo, in the chained record
        from cases.models import Inspection

        assert s.exec(select(Inspection).where(Inspection.case_id == case.id)).one().evidence == {code: [h_item]}
    page = b.get(f"/cases/{case.id}").text
    assert page.count(f"/cases/{case.id}/evidence/{h_onsite}?thumb=true") >= 2  # gallery and timeline
    assert f"/cases/{case.id}/evidence/{h_item}?thumb=true" in page.split('id="last-inspection"')[1]


def test_clean_filename() -> None:
    assert clean_filename("../../etc/passwd") == "passwd"
    assert clean_filename("C:\\Users\\x\\照片.jpg") == "照片.jpg"
    assert clean_filename("a\x00b\n.jpg") == "ab.jpg"
    assert clean_filename("") == "evidence"
