"""Rendering: every kind says what it must, user text stays text, output is reproducible."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from cases.errors import Conflict
from cases.notices import content_hash, notice_html, notice_pdf, render_notices
from cases.notices.codes import display_code, safe_filename
from cases.notices.render import cn_date, job_for, zh_numeral
from tests.notices.conftest import CASE_KINDS, KEY, Rendered, World, page_count, pdf_text
from workflow.notices import NOTICE_TITLES


@pytest.mark.parametrize("kind", [k.value for k in CASE_KINDS])
def test_each_kind_carries_its_facts(rendered: Rendered, kind: str) -> None:
    notice = rendered.notices[kind]
    path = rendered.paths[kind]
    text = pdf_text(path)
    d = rendered.world.district.district
    assert notice.number in text
    # a 批复 is titled after what it answers (关于…办园性质的批复); every other kind by its own title
    title = "办园性质的批复" if kind == "designation_approval" else NOTICE_TITLES[notice.kind]  # type: ignore[index]
    assert title in text
    assert "阳光托幼点" in text
    assert d.bureau in text  # issuing authority and signature
    assert "2026年11月23日" in text  # 成文日期 in Chinese form
    assert display_code(notice.verify_code) in text
    assert "—1—" in text  # page number
    if kind not in ("filing_receipt", "supervision_notice", "listed_supervision", "ban_decision", "penalty_intent",
                    "service_receipt", "designation_approval"):
        assert "2026年12月21日" in text and "20个工作日" in text  # the deadline, as a date and in days
    if kind in ("rectification_order", "reinspection_opinion", "suspension_order", "refusal_notice"):
        assert "消防安全" in text and "重大隐患（问题等级：严重）" in text  # the failed items, in the district's words
        assert "《中华人民共和国消防法》" in text  # their legal basis
    if kind in ("rectification_order", "reinspection_opinion", "suspension_order"):
        assert "取得消防验收或备案手续" in text  # what to fix
    if kind in ("supervision_notice", "listed_supervision"):
        assert "梅厂镇人民政府" in text and "逾期5个工作日" in text
        assert ("挂牌督办" if kind == "listed_supervision" else "镇街督办") in text
        assert d.bureau + "文件" in text
    assert "梅厂镇人民政府" in text  # the township's unit is addressed or copied
    assert 1 <= page_count(path) <= 5


def test_rows_record_the_rendering(rendered: Rendered) -> None:
    for kind, notice in rendered.notices.items():
        path = rendered.paths[kind]
        assert path.name == safe_filename(notice.number) + ".pdf"
        assert notice.pdf_path == str(path)
        assert notice.pdf_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert notice.content_hash == content_hash(notice)
        assert len(notice.verify_code) == 10


def test_pdf_embeds_fonts_and_metadata(rendered: Rendered) -> None:
    from pypdf import PdfReader

    path = rendered.paths["rectification_order"]
    notice = rendered.notices["rectification_order"]
    reader = PdfReader(path)
    fonts = set()
    for page in reader.pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            font = f.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
            assert any(k in desc for k in ("/FontFile", "/FontFile2", "/FontFile3")), "font not embedded"
            fonts.add(str(font["/BaseFont"]))
    assert any("tuoyou-body" in f for f in fonts), fonts
    meta = reader.metadata
    assert meta is not None and notice.number in str(meta.get("/Keywords"))
    assert str(meta.get("/CreationDate")).startswith("D:20261123")
    raw = path.read_bytes()
    assert f"<tuoyou:verifyCode>{notice.verify_code}</tuoyou:verifyCode>".encode() in raw  # uncompressed XMP


def test_rendering_is_reproducible_and_idempotent(rendered: Rendered, tmp_path: Path) -> None:
    w = rendered.world
    notice = rendered.notices["filing_receipt"]
    first = rendered.paths["filing_receipt"].read_bytes()
    assert notice_pdf(notice, w.district, key=KEY) == first  # same notice, same bytes
    before = rendered.paths["filing_receipt"].stat().st_mtime_ns
    again = render_notices(w.session, [notice], w.district, rendered.paths["filing_receipt"].parent, key=KEY)
    assert again == [rendered.paths["filing_receipt"]]
    assert rendered.paths["filing_receipt"].stat().st_mtime_ns == before  # already there: not redone
    forced = render_notices(w.session, [notice], w.district, tmp_path, key=KEY, force=True)
    assert forced[0].read_bytes() == first


def test_changed_data_is_refused(world: World) -> None:
    notice = world.notice("filing_receipt")
    notice.content_hash = content_hash(notice)
    notice.data = {**notice.data, "point": {**notice.data["point"], "name": "别的托幼点"}}
    with pytest.raises(Conflict):
        job_for(notice, key=KEY)


def test_user_text_is_escaped(world: World) -> None:
    evil = "<script>alert(1)</script>{{ 7*7 }}{% if 1 %}X{% endif %}"
    notice = world.notice("rectification_order", point={"name": evil}, reason=evil)
    html = notice_html(notice, world.district, key=KEY)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in html
    text = pdf_text(notice_pdf(notice, world.district, key=KEY))
    assert "<script>alert(1)</script>{{7*7}}{%if1%}X{%endif%}" in text
    assert "49" not in text.replace("2026", "")


def test_long_names_wrap(world: World) -> None:
    long_cjk = "特别长的托幼点名称" * 30
    long_latin = "Sunshine" * 40
    notice = world.notice("refusal_notice", point={"name": long_cjk, "address": long_latin},
                          reason="理由" * 200)
    pdf = notice_pdf(notice, world.district, key=KEY)
    text = pdf_text(pdf, body_only=True)
    assert long_cjk in text and long_latin in text  # nothing was cut off
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    assert 2 <= len(reader.pages) <= 8
    for page in reader.pages:  # still A4
        assert round(float(page.mediabox.width)) == 595 and round(float(page.mediabox.height)) == 842


def test_missing_data_renders(world: World) -> None:
    notice = world.notice("supervision_notice")
    notice.data = {"title": "督办通知书"}
    text = pdf_text(notice_pdf(notice, world.district, key=KEY))
    assert notice.number in text and "督办通知书" in text


def test_many_items_split_over_pages(world: World) -> None:
    items = [{"code": f"X{i:02d}", "title": f"第{i}项检查" * 3, "result": "fail", "requirement": "整改" * 20,
              "basis": "《条例》"} for i in range(40)]
    notice = world.notice("rectification_order", items=items)
    text = pdf_text(notice_pdf(notice, world.district, key=KEY), body_only=True)
    assert text.count("检查项目及存在问题") >= 2  # the table header repeats on the next page
    assert "〔X39〕" in text


def test_filters() -> None:
    assert cn_date("2026-01-05") == "2026年1月5日"
    assert cn_date(None) == ""
    assert [zh_numeral(i) for i in (1, 10, 12, 20, 21)] == ["一", "十", "十二", "二十", "二十一"]


def test_rare_characters_fall_back_to_an_embedded_system_font(world: World) -> None:
    """Characters outside the cached cut (not in GB 2312) still print, from the configured family."""
    import io

    from pypdf import PdfReader

    name = "王喆堃玥托幼点"
    notice = world.notice("filing_receipt", point={"name": name})
    pdf = notice_pdf(notice, world.district, key=KEY)
    assert name in pdf_text(pdf)
    reader = PdfReader(io.BytesIO(pdf))
    fonts = {str(f.get_object()["/BaseFont"]) for p in reader.pages
             for f in (p["/Resources"].get("/Font") or {}).values()}
    assert any("tuoyou" not in f for f in fonts), fonts  # the fallback face is embedded too
