"""GB/T 9704 measured on the PDFs of every notice kind and the 督查通报 of both sample districts.

Distances are in millimetres from the top-left corner of the A4 page (see layoutcheck): text area
156 × 225 mm from 37 mm down and 28 mm in from the binding edge; page number dash 7 mm under the
text area, one character in; red rule 4 mm under the 文号; 版记 at the foot of the last page,
which is even; tables break across pages; the closing sentence never stands alone, and no page before
the signature ends two or more lines short: where GB/T 9704's 22 lines of 28 characters would leave one
so, the notice says (XMP) that its line pitch and characters a line were adjusted (GB/T 9704 7.3.5.3),
within the bound (line pitch within ±10 %, 27 to 29 characters a line).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlmodel import select

from cases.config import load_district
from cases.models import Case, Point, Township
from cases.notices import job_for, notice_pdf, render_notice, verify_pdf
from cases.notices.fonts import FontFace
from cases.notices.render import district_fonts, renderer_for
from cases.notices.report import issue_bulletin
from tests.notices.conftest import (
    BULLETIN,
    CASE_KINDS,
    DISTRICTS_DIR,
    KEY,
    SAMPLE_DISTRICTS,
    Samples,
    World,
    _sample_world,
)
from tests.notices.layoutcheck import (
    AREA_BOTTOM,
    AREA_W,
    LINE_MM,
    PT_PER_MM,
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
#: The bound of an adjusted layout: line pitch (pt; GB/T 9704's is 28.95) and characters a line.
PITCH_BOUND, CHARS_BOUND = (0.90 * 28.95 - 0.01, 1.10 * 28.95 + 0.01), (27, 29)


def _faces(s: Samples) -> dict[str, FontFace]:
    return {r.alias: r.face for r in district_fonts(s.district).roles if r.face is not None}


def _pages(samples: dict[str, Samples], district: str, kind: str) -> tuple[list[Page], dict[str, FontFace]]:
    s = samples[district]
    return read_pages(s.paths[kind]), _faces(s)


def _spacing(pdf: Path | bytes) -> tuple[float, int] | None:
    """The line pitch (pt) and characters a line an adjusted notice says (XMP) it was laid out with."""
    data = pdf if isinstance(pdf, bytes) else pdf.read_bytes()
    found = re.search(rb"<tuoyou:linePitch>([0-9.]+)</tuoyou:linePitch><tuoyou:charsPerLine>([0-9]+)<", data)
    return (float(found[1]), int(found[2])) if found else None


def _grid(pdf: Path | bytes) -> tuple[float, int]:
    """The line pitch (mm) and characters a line to measure a notice against: GB/T 9704's 22 × 28,
    or what it says it was adjusted to, which must be within the bound."""
    adjusted = _spacing(pdf)
    if adjusted is None:
        return LINE_MM, 28
    pitch, chars = adjusted
    assert PITCH_BOUND[0] <= pitch <= PITCH_BOUND[1] and CHARS_BOUND[0] <= chars <= CHARS_BOUND[1], adjusted
    assert adjusted != (28.95, 28), "adjusted to GB/T 9704's own spacing"
    return pitch / PT_PER_MM, chars


def _short_pages(pages: list[Page], faces: dict[str, FontFace], sig: Page) -> list[tuple[int, float]]:
    """Pages before the signature page that end two or more lines short (mm empty), except a page
    followed by a chart (which does not split; it may leave up to 100 mm)."""
    out = []
    for page in pages[: sig.number - 1]:
        free = AREA_BOTTOM - lowest_ink(page, faces)
        if free >= (100 if _opens_with_a_chart(pages[page.number]) else 2 * LINE_MM):
            out.append((page.number, round(free, 1)))
    return out


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
    """3号 body lines 225/22 mm apart; a line of Chinese holds 28 characters at most (or, adjusted,
    what the notice says, within the bound)."""
    pages, _ = _pages(samples, district, kind)
    _assert_grid(pages, *_grid(samples[district].paths[kind]))


def _assert_grid(pages: list[Page], line_mm: float, chars: int) -> None:
    steps: Counter[float] = Counter()
    pitches: Counter[float] = Counter()
    for page in pages:
        lines = body_lines(page)
        for a, b in pairwise(lines):
            steps[round(b[0].baseline - a[0].baseline, 2)] += 1
        for line in lines:
            if all(ord(c.text) > 0x2E80 for c in line):
                assert len(line) <= chars, "".join(c.text for c in line)
                for x, y in pairwise(line):
                    pitches[round(y.x - x.x, 2)] += 1
    step, _ = steps.most_common(1)[0]
    assert step == pytest.approx(line_mm, abs=0.05)
    pitch, _ = pitches.most_common(1)[0]
    assert chars * pitch <= AREA_W < (chars + 1) * pitch  # exactly 28 (or the adjusted count) fill a line


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
    # No page before the signature ends two or more lines short, the page before it included (the
    # spacing is adjusted where needed); only a chart, which does not split, may leave more.
    assert not _short_pages(pages, faces, sig)


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


def test_a_page_left_short_by_the_signature_is_filled(world: World, tmp_path: Path) -> None:
    """Short bodies (a 批复 whose point's name grows) and long ones (a 事先告知书 whose reason grows):
    where GB/T 9704's spacing would leave a page before the signature two or more lines short, the
    notice is laid out with adjusted spacing, within the bound, says so, and no page is short; where
    it would not, it is laid out once with GB/T 9704's spacing. The same decision on every rendering,
    and the adjusted notice, issued, verifies as genuine."""
    renderer = renderer_for(world.district)
    faces = {r.alias: r.face for r in district_fonts(world.district).roles if r.face is not None}
    variants = ([("designation_approval", {"point": {"name": "阳光" + "小区配套" * i + "幼儿园"}}) for i in range(8)]
                + [("penalty_intent", {"reason": "经复查" + "消防安全隐患仍未消除，" * i + "拒不整改"})
                   for i in range(0, 14, 2)])
    naive_short = []
    for i, (kind, data) in enumerate(variants):
        job = job_for(world.notice(kind, **data), key=KEY)
        naive = renderer.measure(job)
        pdf = renderer.pdf(job)
        pages = read_pages(_write(tmp_path / f"{i}.pdf", pdf))
        sig = _signature_page(pages, "2026年11月23日")
        assert not _short_pages(pages, faces, sig), (kind, data, len(pages))
        _assert_grid(pages, *_grid(pdf))  # as it says: GB/T 9704's or adjusted within the bound
        if naive.ok:
            assert _spacing(pdf) is None, (kind, data)  # laid out once, with GB/T 9704's spacing
        else:
            naive_short.append((i, (naive.signature or 0) + 1))
            assert _spacing(pdf) is not None, (kind, data)
            assert renderer.pdf(job) == pdf  # the same decision again
    assert {page for _i, page in naive_short} >= {2, 3}, naive_short  # short and long bodies

    kind, data = variants[naive_short[-1][0]]
    path = render_notice(world.session, world.notice(kind, **data), world.district, tmp_path / "issued", key=KEY)
    assert _spacing(path) is not None
    assert verify_pdf(world.session, path).genuine


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


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


#: The column charts of the 督查通报, in order (states, overdue cases by level, the three rates): their
#: nominal height and what of it is not plot, in the charts' units (600 across the text area).
COLUMN_CHARTS = ((200.0, 48.0), (150.0, 48.0), (180.0, 54.0))
CHART_UNIT_MM = AREA_W / 600
#: The bound of a scaled chart's height (a share of its nominal one).
CHARTS_BOUND = (0.80, 1.20)
#: Sample 督查通报 (seal time on 2026-11-25, UTC; more cases) whose page before the signature no spacing
#: within its bound filled, and some it did or that needed none. The seal's fingerprint is printed (as wide
#: as its letters and digits: it fits its line or wraps): of 200 seal times, 5 left page 3 of the 石景山
#: sample short (all five here; 01:00 is the samples' own). More cases lengthen the tables and charts:
#: 武清 with 37 left a page before a chart 110 mm short.
BULLETINS = {
    "shijingshan": [("01:00", 0), ("02:31", 0), ("06:29", 0), ("14:18", 0), ("17:34", 0), ("18:58", 0),
                    ("01:00", 9)],
    "wuqing": [("02:31", 0), ("01:00", 13), ("01:00", 14), ("01:00", 19), ("01:00", 22), ("01:00", 37)],
}
MORE_STATES = ("overdue", "rectifying", "filed", "closed", "overdue", "banned", "under_review", "converted")


def _chart_scale(pdf: Path | bytes) -> float | None:
    """The charts' height (a share of their nominal one) a notice says (XMP) it was laid out with."""
    data = pdf if isinstance(pdf, bytes) else pdf.read_bytes()
    found = re.search(rb"<tuoyou:chartScale>([0-9.]+)</tuoyou:chartScale>", data)
    return float(found[1]) if found else None


def _column_chart_scales(pages: list[Page]) -> list[float]:
    """Each column chart's height as a share of its nominal one, read off its drawing: from its top
    grid line (grey) down to its axis (black), both as wide as its plot."""
    spans = []
    for page in pages:
        rules = sorted((r for r in page.rects if abs(r["top"] - r["bottom"]) < 0.1
                        and abs(r["x1"] - r["x0"] - 558 * CHART_UNIT_MM) < 0.3), key=lambda r: r["top"])
        above = None
        for r in rules:
            if r["stroke"] == (0, 0, 0):  # an axis: the grid lines since the last axis are its own
                spans.append(r["top"] - above if above is not None else 0.0)
                above = None
            elif above is None:
                above = r["top"]
    return [(span / CHART_UNIT_MM + pad) / height for span, (height, pad) in zip(spans, COLUMN_CHARTS,
                                                                                  strict=False)]


def _more_cases(world: World, count: int) -> None:
    """`count` more cases over the townships, in varied states (some overdue, escalated)."""
    towns = world.session.exec(select(Township).order_by(Township.id)).all()
    for i in range(count):
        town, state = towns[(i * 5 + 1) % len(towns)], MORE_STATES[i % len(MORE_STATES)]
        point = Point(name=f"{town.name}新苗托幼点{i}", township_id=town.id or 0, address=f"{town.name}幸福路{i}号",
                      operator="李四", registered_on=date(2023, 1, 5))
        world.session.add(point)
        world.session.flush()
        world.session.add(Case(point_id=point.id or 0, township_id=town.id or 0, state=state, round=1,
                               deadline=date(2026, 11, 3 + i % 20) if state == "overdue" else date(2026, 12, 21),
                               escalation_level=i % 4 if state == "overdue" else 0))
    world.session.commit()


@pytest.mark.parametrize("district", SAMPLE_DISTRICTS)
def test_a_chart_heavy_bulletin_fills_the_page_before_the_signature(district: str, tmp_path: Path) -> None:
    """A page of the 督查通报 that is mostly charts has few lines for the spacing to spread: where no
    spacing within its bound fills it, the charts' heights are scaled, within 80 % to 120 % (GB/T 9704's
    spacing kept), and the notice says so (XMP), as its drawn charts show. No page before the signature
    ends short, with any seal (its printed fingerprint moves the text) or more cases; the same decision
    on every rendering, and the scaled bulletin, issued, verifies as genuine."""
    sample = load_district(DISTRICTS_DIR / f"{district}.toml")
    renderer = renderer_for(sample)
    faces = {r.alias: r.face for r in district_fonts(sample).roles if r.face is not None}
    scaled = []
    for i, (sealed_at, more) in enumerate(BULLETINS[district]):
        (tmp_path / str(i)).mkdir()
        world = _sample_world(tmp_path / str(i), sample)
        try:
            _more_cases(world, more)
            notice = issue_bulletin(world.session, sample, "week", today=date(2026, 11, 25),
                                    now=datetime.fromisoformat(f"2026-11-25T{sealed_at}:00+00:00"))
            world.session.commit()
            job = job_for(notice, key=KEY)
            pdf = renderer.pdf(job)
            pages = read_pages(_write(tmp_path / f"{i}.pdf", pdf))
            case = (sealed_at, more, notice.data["seal"]["fingerprint"])
            sig = _signature_page(pages, "2026年11月25日")
            assert not _short_pages(pages, faces, sig), case
            _assert_grid(pages, *_grid(pdf))
            scale = _chart_scale(pdf)
            if scale is not None:
                assert CHARTS_BOUND[0] <= scale <= CHARTS_BOUND[1] and scale != 1.0, (case, scale)
                scaled.append(case)
            drawn = _column_chart_scales(pages)
            assert len(drawn) >= 2, case  # cases by state, overdue by level (and the three rates)
            assert drawn == pytest.approx([scale or 1.0] * len(drawn), abs=0.005), (case, scale)
            if len(scaled) == 1 and scale is not None:  # issued: the same decision again, and genuine
                path = render_notice(world.session, notice, sample, tmp_path / "issued", key=KEY)
                assert path.read_bytes() == pdf, case
                assert verify_pdf(world.session, path).genuine
        finally:
            world.session.close()
            world.engine.dispose()
    assert scaled, "no bulletin needed its charts scaled"
