"""GB/T 9704 measured on the PDFs of every notice kind and the 督查通报 of both sample districts.

Distances are in millimetres from the top-left corner of the A4 page (see layoutcheck): text area
156 × 225 mm from 37 mm down and 28 mm in from the binding edge; page number dash 7 mm under the
text area, one character in; red rule 4 mm under the 文号; 版记 at the foot of the last page,
which is even; tables break across pages; the closing sentence never stands alone.
"""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest

from cases.notices import notice_pdf
from cases.notices.fonts import FontFace
from cases.notices.render import district_fonts
from tests.notices.conftest import BULLETIN, CASE_KINDS, KEY, SAMPLE_DISTRICTS, Samples, World
from tests.notices.layoutcheck import (
    AREA_BOTTOM,
    AREA_W,
    LINE_MM,
    TOP,
    Page,
    body_lines,
    is_red,
    lowest_ink,
    page_number_dashes,
    read_pages,
)

KINDS = [k.value for k in CASE_KINDS] + [BULLETIN]
CASES = [(d, k) for d in SAMPLE_DISTRICTS for k in KINDS]
TOL = 0.3  # mm
CHAR_14PT = 14 / 72 * 25.4  # one character of the page number (4号)


def _faces(s: Samples) -> dict[str, FontFace]:
    return {r.alias: r.face for r in district_fonts(s.district).roles if r.face is not None}


def _pages(samples: dict[str, Samples], district: str, kind: str) -> tuple[list[Page], dict[str, FontFace]]:
    s = samples[district]
    return read_pages(s.paths[kind]), _faces(s)


def _numbered(pages: list[Page]) -> list[Page]:
    return [p for p in pages if page_number_dashes(p)]


def _signature_page(pages: list[Page], date_text: str) -> Page:
    """The page whose 16 pt lines end with the 成文日期 (the signature), last one wins."""
    found = [p for p in pages for line in body_lines(p) if "".join(c.text for c in line) == date_text]
    assert found, f"no signature dated {date_text}"
    return found[-1]


def _opens_with_a_chart(page: Page) -> bool:
    """The page begins with a figure: its caption (图N) comes before any line of body text."""
    lines = [line for line in page.lines() if line[0].baseline < AREA_BOTTOM]
    caption = next((i for i, line in enumerate(lines) if line[0].text == "图" and abs(line[0].size - 12) < 0.2), None)
    first_body = next((i for i, line in enumerate(lines) if abs(line[0].size - 16) < 0.2), len(lines))
    return caption is not None and caption < first_body


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_page_numbers(samples: dict[str, Samples], district: str, kind: str) -> None:
    """"— n —" in 4号, its dash 7 mm under the text area, odd pages right and even pages left,
    one character in, at the same height on every page."""
    pages, faces = _pages(samples, district, kind)
    tops = []
    for page in _numbered(pages):
        dashes = page_number_dashes(page)
        assert len(dashes) == 2, f"page {page.number}: {[c.text for c in dashes]}"
        inks = [c.ink(faces) for c in dashes]
        assert all(inks)
        left, right = min(i[0] for i in inks if i), max(i[2] for i in inks if i)
        tops += [i[1] for i in inks if i]
        digits = "".join(c.text for c in page.chars if c.text.isdigit() and c.baseline > AREA_BOTTOM
                         and abs(c.size - 14) < 0.2)
        assert digits == str(page.number)
        if page.odd:
            assert right < page.area_right and page.area_right - right == pytest.approx(CHAR_14PT, abs=0.8)
        else:
            assert left > page.area_left and left - page.area_left == pytest.approx(CHAR_14PT, abs=0.8)
    assert tops, "no page numbers"
    assert all(t == pytest.approx(AREA_BOTTOM + 7, abs=TOL) for t in tops), tops
    assert max(tops) - min(tops) < 0.05  # odd and even pages alike


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_red_rule_4mm_under_the_number(samples: dict[str, Samples], district: str, kind: str) -> None:
    pages, faces = _pages(samples, district, kind)
    first = pages[0]
    red = [r for r in first.rects if is_red(r["color"]) or is_red(r["stroke"])]
    assert len(red) == 1, red
    rule = red[0]
    assert rule["x0"] == pytest.approx(first.area_left, abs=TOL) and rule["x1"] - rule["x0"] == pytest.approx(
        AREA_W, abs=TOL)  # as wide as the text area
    number = next(line for line in first.lines(16) if "".join(c.text for c in line).endswith("号")
                  and "〔" in "".join(c.text for c in line))
    ink_bottom = max(i[3] for i in (c.ink(faces) for c in number) if i)
    assert rule["top"] - ink_bottom == pytest.approx(4.0, abs=TOL)


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_text_stays_in_the_text_area(samples: dict[str, Samples], district: str, kind: str) -> None:
    pages, faces = _pages(samples, district, kind)
    for page in pages:
        for c in page.chars:
            if c.baseline > AREA_BOTTOM + 3:  # the page number and verification line under the area
                continue
            ink = c.ink(faces)
            left, top, right, bottom = ink if ink else (c.x, c.baseline - 1, c.x, c.baseline)
            assert page.area_left - TOL <= left and right <= page.area_right + TOL, (page.number, c.text, left, right)
            assert top >= TOP - TOL and bottom <= AREA_BOTTOM + TOL, (page.number, c.text, top, bottom)


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_body_grid_22_lines_of_28(samples: dict[str, Samples], district: str, kind: str) -> None:
    """3号 body lines 225/22 mm apart; a line of Chinese holds 28 characters at most."""
    pages, _ = _pages(samples, district, kind)
    steps: Counter[float] = Counter()
    pitches: Counter[float] = Counter()
    for page in pages:
        lines = body_lines(page)
        for a, b in pairwise(lines):
            steps[round(b[0].baseline - a[0].baseline, 2)] += 1
        for line in lines:
            if all(ord(c.text) > 0x2E80 for c in line):
                assert len(line) <= 28, "".join(c.text for c in line)
                for x, y in pairwise(line):
                    pitches[round(y.x - x.x, 2)] += 1
    step, _ = steps.most_common(1)[0]
    assert step == pytest.approx(LINE_MM, abs=0.05)
    pitch, _ = pitches.most_common(1)[0]
    assert 28 * pitch <= AREA_W < 29 * pitch  # exactly 28 characters fill a line


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_imprint_at_the_foot_of_the_last_even_page(samples: dict[str, Samples], district: str, kind: str) -> None:
    pages, faces = _pages(samples, district, kind)
    assert len(pages) % 2 == 0
    last = pages[-1]
    assert "印发" in last.text()
    assert lowest_ink(last, faces) == pytest.approx(AREA_BOTTOM, abs=TOL)  # its last rule on the area's edge
    imprint_line = next(line for line in last.lines() if "印发" in "".join(c.text for c in line))
    assert all(line[0].baseline <= imprint_line[0].baseline for line in last.lines()
               if line[0].baseline < AREA_BOTTOM)  # nothing under it
    unnumbered = [p.number for p in pages if not page_number_dashes(p)]
    if unnumbered:  # a blank page before the 版记 page: neither numbered (GB/T 9704 7.5)
        assert unnumbered == [len(pages) - 1, len(pages)]
        assert not pages[-2].chars or all(c.baseline > AREA_BOTTOM for c in pages[-2].chars)


@pytest.mark.parametrize(("district", "kind"), CASES)
def test_no_seal_placeholder_and_a_closing_that_is_not_alone(samples: dict[str, Samples], district: str,
                                                             kind: str) -> None:
    s = samples[district]
    pages, faces = _pages(samples, district, kind)
    text = "".join(p.text() for p in pages)
    assert "印章" not in text
    from pypdf import PdfReader

    reader = PdfReader(s.paths[kind])
    issued = reader.metadata.get("/CreationDate") if reader.metadata else None
    assert issued
    y, m, d = int(issued[2:6]), int(issued[6:8]), int(issued[8:10])
    sig = _signature_page(pages, f"{y}年{m}月{d}日")
    lines = ["".join(c.text for c in line) for line in body_lines(sig)]
    date_at = max(i for i, t in enumerate(lines) if t == f"{y}年{m}月{d}日")
    above = [t for t in lines[: date_at - 1] if t]  # the text above 署名 and date
    assert len(above) >= 2, f"the signature page holds only {above}"
    for closing in ("特此通知。", "特此通报。"):
        if closing in lines:
            i = lines.index(closing)
            assert i >= 1, f"{closing} opens page {sig.number}"
    # Pages end early only because the closing sentence and signature travel together, or a chart
    # (which does not split) comes next; tables break across pages.
    for page in pages[: sig.number - 1]:
        free = AREA_BOTTOM - lowest_ink(page, faces)
        if _opens_with_a_chart(pages[page.number]):
            assert free < 100, (page.number, free)
        elif page.number == sig.number - 1:
            moved = max(c.baseline for c in sig.chars if c.baseline < AREA_BOTTOM) - TOP
            assert free < moved + LINE_MM, (page.number, free, moved)
        else:
            assert free < 2 * LINE_MM, (page.number, free)


def test_a_one_item_order_fills_its_first_page(world: World, tmp_path: Path) -> None:
    """A long single item row breaks across the pages (header repeated) instead of leaving page 1 half empty."""
    item = {"code": "F01", "title": "消防安全（消防验收或备案、疏散通道畅通、消防器材有效）" * 2, "result": "major",
            "severity": "major", "requirement": "取得消防验收或备案手续，清理疏散通道，配齐并定期检查消防器材。" * 4,
            "basis": "《中华人民共和国消防法》第十五条、第十六条", "note": "疏散通道堆放杂物，灭火器过期" * 3}
    notice = world.notice("rectification_order", items=[item])
    path = tmp_path / "one.pdf"
    path.write_bytes(notice_pdf(notice, world.district, key=KEY))
    pages = read_pages(path)
    faces = {r.alias: r.face for r in district_fonts(world.district).roles if r.face is not None}
    assert AREA_BOTTOM - lowest_ink(pages[0], faces) < 2 * LINE_MM
    headers = [p.number for p in pages if "检查项目及存在问题" in p.text()]
    assert headers[:2] == [1, 2]  # the row went on, under a repeated header


def test_kaiti_and_body_faces(samples: dict[str, Samples]) -> None:
    """（一） headings in 楷体 and the body in the configured body face, when installed."""
    s = samples["wuqing"]
    fonts = district_fonts(s.district)
    kaiti = fonts.role("kaiti").face
    if kaiti is None or "Kai" not in kaiti.family:
        pytest.skip("no 楷体 face installed (fonts-arphic-ukai)")
    pages = read_pages(s.paths["suspension_order"])
    heading = next(line for p in pages for line in p.lines() if "".join(c.text for c in line).startswith("（一）"))
    assert all(c.font.endswith("tuoyou-kaiti") for c in heading)
    body = next(line for p in pages for line in body_lines(p) if len(line) > 20)
    assert all(c.font.endswith("tuoyou-body") for c in body if ord(c.text) > 0x2E80)


def test_both_districts_list_kaiti_fonts() -> None:
    from cases.config import load_district
    from tests.notices.conftest import DISTRICTS_DIR

    for name in SAMPLE_DISTRICTS:
        fonts = load_district(DISTRICTS_DIR / f"{name}.toml").notices.fonts
        assert '"AR PL UKai CN"' in fonts.kaiti and fonts.kaiti.index("KaiTi") < fonts.kaiti.index("UKai")
        assert fonts.body.index("FangSong") < fonts.body.index("Noto Serif CJK SC")  # 仿宋 first, 宋体-style after
