"""Verification judges content: re-saved copies stay genuine, every change to what is drawn is altered.

Re-savers: qpdf (`--qdf --object-streams=disable`), pypdf, Ghostscript's pdfwrite.
Tampering: a changed character (glyph code, or only the text layer), a changed glyph outline,
a changed byte of a font program, a changed image pixel, a line moved, a truncated file.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject

from cases.config import District
from cases.notices import verify_bytes, verify_pdf
from cases.notices.fingerprint import compare, extract
from cases.notices.verify import find_by_code, record_rendering, renderings
from tests.notices.conftest import KEY, Rendered, World

needs_qpdf = pytest.mark.skipif(shutil.which("qpdf") is None, reason="qpdf is not installed")
needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="Ghostscript is not installed")


def _qpdf(src: Path, dst: Path) -> Path:
    subprocess.run(["qpdf", "--qdf", "--object-streams=disable", str(src), str(dst)], check=True)
    return dst


def _gs(src: Path, dst: Path) -> Path:
    subprocess.run(["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", "-sDEVICE=pdfwrite", f"-sOutputFile={dst}",
                    str(src)], check=True)
    return dst


def _pypdf(src: Path, dst: Path) -> Path:
    writer = PdfWriter(clone_from=str(src))
    writer.compress_identical_objects()
    writer.write(dst)
    return dst


def _font_streams(writer: PdfWriter) -> list[object]:
    out = []
    for page in writer.pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            desc = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            fd = desc["/FontDescriptor"].get_object()
            for key in ("/FontFile3", "/FontFile2", "/FontFile"):
                if key in fd:
                    out.append(fd[key].get_object())
    return out


# -- genuine ---------------------------------------------------------------------------------


def test_genuine(rendered: Rendered) -> None:
    w = rendered.world
    res = verify_pdf(w.session, rendered.paths["rectification_order"])
    assert res.status == "genuine" and res.genuine and res.exact
    assert res.number == rendered.notices["rectification_order"].number
    assert res.status_zh == "真实有效"


def test_every_rendering_is_kept(rendered: Rendered) -> None:
    w = rendered.world
    for kind, notice in rendered.notices.items():
        rows = renderings(w.session, notice.id or 0)
        assert [r.sha256 for r in rows] == [notice.pdf_sha256], kind


@needs_qpdf
@pytest.mark.parametrize("resave", [_qpdf, _pypdf], ids=["qpdf", "pypdf"])
def test_resaved_copy_is_genuine(rendered: Rendered, tmp_path: Path, resave: object) -> None:
    w = rendered.world
    src = rendered.paths["suspension_order"]
    copy = resave(src, tmp_path / "copy.pdf")  # type: ignore[operator]
    assert copy.read_bytes() != src.read_bytes()
    res = verify_pdf(w.session, copy)
    assert res.status == "genuine", res.detail
    assert not res.exact and "另存" in res.detail
    assert res.number == rendered.notices["suspension_order"].number
    rows = renderings(w.session, rendered.notices["suspension_order"].id or 0)
    assert res.fingerprint and res.fingerprint == rows[0].fingerprint


@needs_gs
def test_ghostscript_copy_is_genuine(world: World, tmp_path: Path) -> None:
    """Ghostscript re-writes every stream, re-subsets the fonts and rounds every number: still genuine.

    Rendered with fonts every reader draws (WeasyPrint's own subsets of the system fonts).
    """
    from cases.notices.render import NoticeRenderer, district_fonts, job_for

    notice = world.notice("rectification_order")
    renderer = NoticeRenderer(world.district, district_fonts(world.district, embed=False))
    job = job_for(notice, key=KEY)
    data = renderer.pdf(job)
    import hashlib

    notice.content_hash, notice.verify_code = job.content_hash, job.verify_code
    world.session.add(notice)
    record_rendering(world.session, notice, sha256=hashlib.sha256(data).hexdigest(), data=data)
    world.session.commit()
    src = tmp_path / "issued.pdf"
    src.write_bytes(data)
    copy = _gs(src, tmp_path / "gs.pdf")
    assert b"Ghostscript" in copy.read_bytes()
    res = verify_pdf(world.session, copy)
    assert res.status == "genuine", res.detail
    # … and a changed character in that copy is still caught
    reader = PdfReader(copy)
    text = "".join(p.extract_text() for p in reader.pages)
    assert "整改通知书" in text


@needs_gs
@pytest.mark.parametrize("kind", ["rectification_order", "ban_decision", "listed_supervision"])
def test_ghostscript_copy_of_an_issued_notice_is_genuine(rendered: Rendered, tmp_path: Path, kind: str) -> None:
    """The notices as the pipeline renders them (cached CJK cuts), re-written by Ghostscript: genuine."""
    copy = _gs(rendered.paths[kind], tmp_path / "gs.pdf")
    res = verify_pdf(rendered.world.session, copy)
    assert res.status == "genuine", res.detail
    assert not res.exact and res.number == rendered.notices[kind].number


# -- altered ---------------------------------------------------------------------------------


def _edit_qdf(src: Path, tmp: Path, edit: object) -> bytes:
    """Uncompress with qpdf, edit the bytes, repair lengths and cross-references with fix-qdf."""
    q = _qpdf(src, tmp / "q.pdf").read_bytes()
    changed = edit(q)  # type: ignore[operator]
    assert changed != q, "the edit changed nothing"
    out = subprocess.run(["fix-qdf"], input=changed, capture_output=True, check=True).stdout
    return out


@needs_qpdf
def test_changed_character_is_altered(rendered: Rendered, tmp_path: Path) -> None:
    """One glyph code in the page's text swapped for another glyph of the same font."""
    w = rendered.world

    def swap(data: bytes) -> bytes:
        page = data[data.index(b"BT"):]
        codes = re.findall(rb"<([0-9a-f]{4})>", page[:4000])
        assert len(set(codes)) > 2
        a, b = codes[0], next(c for c in codes if c != codes[0])
        start = data.index(b"<" + a + b">", data.index(b"BT"))
        return data[:start] + b"<" + b + b">" + data[start + 6:]

    res = verify_bytes(w.session, _edit_qdf(rendered.paths["refusal_notice"], tmp_path, swap))
    assert res.status == "altered"
    assert res.number == rendered.notices["refusal_notice"].number
    assert "文字或字形被改动" in res.detail and "第 1 页" in res.detail


@needs_qpdf
def test_changed_number_in_text_layer_is_altered(rendered: Rendered, tmp_path: Path) -> None:
    """The glyphs stay, but what the file says they are (ToUnicode: copy, search, read aloud) changes."""
    w = rendered.world

    def remap(data: bytes) -> bytes:
        m = re.search(rb"<([0-9a-f]{4})> *<0032>", data)  # the glyph that reads "2"
        assert m is not None
        return data[:m.start()] + m.group(0).replace(b"<0032>", b"<0033>") + data[m.end():]

    res = verify_bytes(w.session, _edit_qdf(rendered.paths["rectification_order"], tmp_path, remap))
    assert res.status == "altered", res.detail


@needs_qpdf
def test_moved_line_is_altered(rendered: Rendered, tmp_path: Path) -> None:
    """The red rule under the number moved by 3 points: the drawing is content too."""
    w = rendered.world

    def move(data: bytes) -> bytes:
        m = re.search(rb"\n(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) (\d+\.\d+) re\n", data)
        assert m is not None
        y = float(m.group(2)) + 3
        return data[:m.start(2)] + f"{y:.6f}".encode() + data[m.end(2):]

    res = verify_bytes(w.session, _edit_qdf(rendered.paths["ban_decision"], tmp_path, move))
    assert res.status == "altered", res.detail


def test_changed_glyph_outline_is_altered(rendered: Rendered) -> None:
    """One glyph of an embedded font redrawn (its first point moved): the text is the same, the page is not."""
    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTFont

    w = rendered.world
    writer = PdfWriter(clone_from=str(rendered.paths["filing_receipt"]))
    stream = _font_streams(writer)[0]
    program = stream.get_data()  # type: ignore[attr-defined]
    sub = str(stream.get("/Subtype", ""))  # type: ignore[attr-defined]

    def redraw_cff(cff: CFFFontSet) -> None:
        top = cff[cff.fontNames[0]]
        strings = top.CharStrings
        name = next(n for n in top.charset[1:] if len(strings[n].bytecode or b"") > 8)
        cs = strings[name]
        cs.decompile()
        i = next(k for k, t in enumerate(cs.program) if isinstance(t, int))
        cs.program[i] += 40
        cs.bytecode = None

    buf = io.BytesIO()
    if sub in ("/CIDFontType0C", "/Type1C"):
        cff = CFFFontSet()
        cff.decompile(io.BytesIO(program), None)
        redraw_cff(cff)
        cff.compile(buf, None)
    else:
        tt = TTFont(io.BytesIO(program))
        if "CFF " in tt:
            redraw_cff(tt["CFF "].cff)
        else:
            glyf = tt["glyf"]
            name = next(n for n in tt.getGlyphOrder()[1:] if glyf[n].numberOfContours > 0)
            glyf[name].coordinates[0] = (glyf[name].coordinates[0][0] + 40, glyf[name].coordinates[0][1])
        tt.save(buf)
    new = buf.getvalue()
    assert new != program
    stream.set_data(new)  # type: ignore[attr-defined]
    out = io.BytesIO()
    writer.write(out)
    res = verify_bytes(w.session, out.getvalue())
    assert res.status == "altered", res.detail
    assert "字" in res.detail


def _byte_in(program: bytes, where: str) -> int:
    """The offset of a byte inside one part of an sfnt font program: its widths, glyph map or units."""
    from fontTools.ttLib import TTFont

    tt = TTFont(io.BytesIO(program))
    tables = tt.reader.tables
    if where == "widths":  # the advance of a glyph that draws something
        gid = next(i for i, name in enumerate(tt.getGlyphOrder()) if i and _draws(tt, name))
        return int(tables["hmtx"].offset + 4 * gid + 1)
    if where == "units":
        return int(tables["head"].offset + 18)  # unitsPerEm
    if "CFF " in tables:  # the charset: which CID each glyph is
        top = tt["CFF "].cff[tt["CFF "].cff.fontNames[0]]
        return int(tables["CFF "].offset + top.rawDict["charset"] + 4)
    t = tables["glyf"]
    return int(t.offset + t.length // 2)


def _draws(tt: object, name: str) -> bool:
    from fontTools.pens.recordingPen import RecordingPen

    pen = RecordingPen()
    tt.getGlyphSet()[name].draw(pen)  # type: ignore[attr-defined]
    return bool(pen.value)


@pytest.mark.parametrize("where", ["widths", "glyph map", "units"])
def test_changed_font_byte_is_altered(rendered: Rendered, where: str) -> None:
    """One byte of an embedded font program changed: a glyph's width, which CID a glyph is, the units.

    Not covered, by design: bytes no reader draws from (a glyph's hint values, the name table), which
    Ghostscript re-writes too; the outline, advance and CID of every glyph are compared.
    """
    w = rendered.world
    writer = PdfWriter(clone_from=str(rendered.paths["reinspection_opinion"]))
    stream = _font_streams(writer)[0]
    program = bytearray(stream.get_data())  # type: ignore[attr-defined]
    program[_byte_in(bytes(program), where)] ^= 0x5A
    stream.set_data(bytes(program))  # type: ignore[attr-defined]
    out = io.BytesIO()
    writer.write(out)
    res = verify_bytes(w.session, out.getvalue())
    assert res.status == "altered", (where, res.detail)


def test_changed_image_pixel_is_altered(world: World, tmp_path: Path) -> None:
    """A notice page with a picture: one pixel changed is altered; a lossless re-save is not."""
    import base64
    import hashlib

    import weasyprint
    from PIL import Image

    img = Image.new("RGB", (24, 24), (200, 30, 30))
    png = io.BytesIO()
    img.save(png, "PNG")
    uri = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    notice = world.notice("filing_receipt")
    html = f"<p>{notice.number} 备案回执</p><img src='{uri}' style='width:60px'>"
    data = weasyprint.HTML(string=html).write_pdf()
    record_rendering(world.session, notice, sha256=hashlib.sha256(data).hexdigest(), data=data)
    world.session.commit()

    writer = PdfWriter(clone_from=io.BytesIO(data))
    xobjects = writer.pages[0]["/Resources"]["/XObject"]
    image = next(x.get_object() for x in xobjects.values() if x.get_object()["/Subtype"] == "/Image")
    assert image["/Width"] == 24
    pixels = bytearray(image.get_data())
    pixels[100] ^= 0x40
    image.set_data(bytes(pixels))
    if "/DecodeParms" in image:
        del image[NameObject("/DecodeParms")]
    changed = io.BytesIO()
    writer.write(changed)
    res = verify_bytes(world.session, changed.getvalue())
    assert res.status == "altered" and "图像" in res.detail, res.detail

    resaved = io.BytesIO()
    PdfWriter(clone_from=io.BytesIO(data)).write(resaved)
    assert verify_bytes(world.session, resaved.getvalue()).status == "genuine"
    if shutil.which("gs"):
        (tmp_path / "picture.pdf").write_bytes(data)
        copy = _gs(tmp_path / "picture.pdf", tmp_path / "picture-gs.pdf")
        res = verify_pdf(world.session, copy)
        assert res.status == "genuine", res.detail


def test_one_byte_changed_is_not_genuine(rendered: Rendered) -> None:
    """A byte flipped inside the compressed page or font data: never genuine."""
    w = rendered.world
    data = bytearray(rendered.paths["suspension_order"].read_bytes())
    for pos in (len(data) // 2, len(data) // 3):
        changed = bytearray(data)
        changed[pos] ^= 0x01
        res = verify_bytes(w.session, bytes(changed))
        assert res.status == "altered", pos
        assert res.number == rendered.notices["suspension_order"].number


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_file_is_altered_or_damaged(rendered: Rendered, keep: float) -> None:
    w = rendered.world
    data = rendered.paths["ban_decision"].read_bytes()
    res = verify_bytes(w.session, data[: int(len(data) * keep)])
    assert res.status in ("altered", "damaged"), res.status
    assert res.detail


def test_damaged_file_is_altered(rendered: Rendered) -> None:
    """Even when no PDF reader can open it, the uncompressed XMP packet still names the notice."""
    w = rendered.world
    data = rendered.paths["ban_decision"].read_bytes()
    damaged = b"\0" * 2000 + data[2000 : len(data) - 300]  # header and cross-reference table gone
    res = verify_bytes(w.session, damaged)
    assert res.status == "altered"
    assert res.number == rendered.notices["ban_decision"].number


def test_unrelated_pdf_is_unknown(rendered: Rendered, tmp_path: Path) -> None:
    import weasyprint

    other = tmp_path / "other.pdf"
    weasyprint.HTML(string="<p>Hello, not a notice</p>").write_pdf(other)
    res = verify_pdf(rendered.world.session, other)
    assert res.status == "unknown" and res.notice_id is None
    assert verify_bytes(rendered.world.session, b"not a pdf at all").status == "unknown"
    assert verify_bytes(rendered.world.session, b"%PDF-1.7\n%%EOF\n").status == "damaged"


def test_rerender_never_disowns_a_served_copy(world: World, wuqing: District, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A notice rendered again (other fonts, other bytes) keeps the first file genuine too."""
    from cases.notices.render import NoticeRenderer, district_fonts, job_for, render_notice_to, renderer_for

    notice = world.notice("rectification_order")
    target = tmp_path / "n.pdf"
    render_notice_to(world.session, notice, wuqing, target, key=KEY)
    served = tmp_path / "served.pdf"
    shutil.copy(target, served)
    other = NoticeRenderer(wuqing, district_fonts(wuqing, embed=False)).pdf(job_for(notice, key=KEY))
    assert other != served.read_bytes()
    monkeypatch.setattr(renderer_for(wuqing), "pdf", lambda job: other)
    render_notice_to(world.session, notice, wuqing, target, key=KEY)
    assert target.read_bytes() == other
    rows = renderings(world.session, notice.id or 0)
    assert len(rows) == 2 and rows[0].content is not None  # read before its file was overwritten
    assert verify_pdf(world.session, served).status == "genuine"
    assert verify_pdf(world.session, target).status == "genuine"
    if shutil.which("qpdf"):
        assert verify_pdf(world.session, _qpdf(served, tmp_path / "served-q.pdf")).status == "genuine"


def test_fingerprint_is_stable(rendered: Rendered) -> None:
    data = rendered.paths["refusal_notice"].read_bytes()
    a, b = extract(data), extract(data)
    assert a.fingerprint == b.fingerprint and compare(a, b) is None
    assert "不予备案通知书" in a.text()


def test_find_by_typed_code(rendered: Rendered) -> None:
    n = rendered.notices["filing_receipt"]
    typed = (n.verify_code[:5] + "-" + n.verify_code[5:]).lower()
    found = find_by_code(rendered.world.session, typed)
    assert found is not None and found.number == n.number
    assert find_by_code(rendered.world.session, "not-a-code") is None
