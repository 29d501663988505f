"""Notices print the same in every reader: poppler, Ghostscript (CUPS), MuPDF and PDFium.

Every notice kind and the 督查通报 of both sample districts are checked twice: structurally
(each embedded font draws, for each CID on the page, the glyph the full font has for that
character) and by rendering (the first and the last page drawn by each engine match poppler's
text). Pre-cut CJK subsets that kept their original CIDs failed both: Ghostscript drew boxes,
MuPDF nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cases.notices import notice_pdf
from cases.notices.fonts import identity_charset, identity_cids
from cases.notices.render import district_fonts
from tests.notices.conftest import BULLETIN, CASE_KINDS, KEY, SAMPLE_DISTRICTS, Samples, World, page_count
from tests.notices.printcheck import ENGINES, engine_available, font_faults, raster_mismatch

KINDS = [k.value for k in CASE_KINDS] + [BULLETIN]
CASES = [(d, k) for d in SAMPLE_DISTRICTS for k in KINDS]

#: Above this share of unmatched text ink an engine draws something else than poppler (see printcheck).
MAX_MISMATCH = 0.12


def _faces(s: Samples) -> dict[str, tuple[str, int]]:
    fonts = district_fonts(s.district)
    return {r.alias: (r.face.path, r.face.index) for r in fonts.roles if r.face is not None}


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_embedded_fonts_select_the_intended_glyphs(samples: dict[str, Samples], district: str, kind: str) -> None:
    s = samples[district]
    assert font_faults(s.paths[kind], _faces(s)) == []


@pytest.mark.parametrize("engine", list(ENGINES))
@pytest.mark.parametrize(("district", "kind"), CASES)
def test_engines_draw_what_poppler_draws(samples: dict[str, Samples], district: str, kind: str,
                                         engine: str) -> None:
    if not engine_available(engine):
        pytest.skip(f"{engine} is not installed (scripts/setup.sh --test installs it)")
    path = samples[district].paths[kind]
    pages = tuple(sorted({1, page_count(path)}))
    for page, mismatch in raster_mismatch(path, pages, engine).items():
        assert mismatch < MAX_MISMATCH, f"{engine} draws page {page} of {path.name} unlike poppler ({mismatch:.2f})"


def test_rare_characters_print_everywhere(world: World) -> None:
    """Characters outside the cached cut come from the system font, and print everywhere too."""
    notice = world.notice("filing_receipt", point={"name": "王喆堃玥托幼点"})
    pdf = notice_pdf(notice, world.district, key=KEY)
    fonts = district_fonts(world.district)
    faces = {r.alias: (r.face.path, r.face.index) for r in fonts.roles if r.face is not None}
    assert font_faults(pdf, faces) == []


def test_cached_cuts_number_cids_as_glyph_indices(samples: dict[str, Samples]) -> None:
    from fontTools.ttLib import TTFont

    fonts = district_fonts(samples["wuqing"].district)
    body = fonts.role("body")
    assert body.src, "no CJK font installed"
    font = TTFont(body.src.removeprefix("file://"))
    if "CFF " not in font:
        pytest.skip("the body font is TrueType here")
    top = font["CFF "].cff.topDictIndex[0]
    assert all(name == f"cid{i:05d}" for i, name in enumerate(top.charset[1:], 1))  # CID = glyph index


def test_identity_charset_is_never_longer() -> None:
    for n in (1, 2, 3, 200, 258, 7987, 65535):
        cs = identity_charset(n)
        assert len(cs) <= 1 + 2 * (n - 1) or n == 1  # never longer than format 0
        assert len(cs) <= 5 or cs[0] != 2
    assert identity_charset(7987) == bytes([2, 0, 1]) + (7985).to_bytes(2, "big")


def test_identity_cids_leaves_truetype_alone() -> None:
    data = b"\x00\x01\x00\x00" + bytes(60)
    assert identity_cids(data) is data


def test_checks_fail_on_a_cut_that_keeps_the_original_cids(world: World, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The old cut (charset keeps each glyph's original CID) fails both checks: they can fail."""
    from cases.notices import fonts as fonts_module
    from cases.notices.render import NoticeRenderer, district_text, job_for, template_text

    monkeypatch.setattr(fonts_module, "identity_cids", lambda data: data)
    extra = template_text() + district_text(world.district) + "0123456789—"
    broken = fonts_module.prepare_fonts(world.district.notices.fonts, extra, tmp_path / "fonts")
    if not any(r.src.endswith(".otf") for r in broken.roles):
        pytest.skip("no CID-keyed CFF font installed here")
    notice = world.notice("rectification_order")
    path = tmp_path / "broken.pdf"
    path.write_bytes(NoticeRenderer(world.district, fonts=broken).pdf(job_for(notice, key=KEY)))
    faces = {r.alias: (r.face.path, r.face.index) for r in broken.roles if r.face is not None}
    assert any("glyphs wrong" in f for f in font_faults(path, faces))
    for engine in ("ghostscript", "mupdf"):
        if engine_available(engine):
            assert raster_mismatch(path, (1,), engine)[1] > 2 * MAX_MISMATCH, engine
