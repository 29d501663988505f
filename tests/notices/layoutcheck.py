"""Measuring a notice's PDF the way GB/T 9704 states its layout, in millimetres from the page's
top-left corner: text area, page number dash, red rule under the 文号, lines, 版记.

Characters come from pdfplumber (origin and size from the text matrix); where the ink of a
glyph matters (the dash of a page number, the bottom of the 文号) its outline's bounds come
from the installed face the embedded font was cut from (fontTools).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cases.notices.fonts import FontFace, glyph_bounds

PT_PER_MM = 72 / 25.4
TOP, BINDING, OUTER = 37.0, 28.0, 26.0  # margins (mm)
AREA_W, AREA_H = 156.0, 225.0  # text area (mm)
AREA_BOTTOM = TOP + AREA_H  # 262 mm
LINE_MM = AREA_H / 22  # 22 lines a page
BODY_PT = 16.0


def mm(pt: float) -> float:
    return pt / PT_PER_MM


@dataclass
class Char:
    text: str
    x: float  # origin (mm from the left edge)
    baseline: float  # mm from the top edge
    size: float  # pt
    font: str  # PDF font name
    color: Any

    def ink(self, faces: dict[str, FontFace]) -> tuple[float, float, float, float] | None:
        """(left, top, right, bottom) of the glyph's ink in mm, when its face is known."""
        alias = self.font.split("+", 1)[-1].removesuffix("-Bold")
        face = faces.get(alias)
        b = glyph_bounds(face.path, face.index, self.text) if face else None
        if b is None:
            return None
        s = mm(self.size)
        return self.x + b[0] * s, self.baseline - b[3] * s, self.x + b[2] * s, self.baseline - b[1] * s


@dataclass
class Page:
    number: int  # 1-based
    chars: list[Char]
    rects: list[dict[str, Any]]  # pdfplumber rects and lines, in mm: x0, top, x1, bottom, color

    @property
    def odd(self) -> bool:
        return self.number % 2 == 1

    @property
    def area_left(self) -> float:
        return BINDING if self.odd else OUTER

    @property
    def area_right(self) -> float:
        return self.area_left + AREA_W

    def lines(self, size: float | None = None) -> list[list[Char]]:
        """Characters grouped by baseline (top to bottom), optionally only of one size."""
        rows: dict[float, list[Char]] = {}
        for c in self.chars:
            if size is not None and abs(c.size - size) > 0.1:
                continue
            rows.setdefault(round(c.baseline, 1), []).append(c)
        return [sorted(rows[k], key=lambda c: c.x) for k in sorted(rows)]

    def text(self) -> str:
        return "".join(c.text for line in self.lines() for c in line)


def read_pages(pdf: Path) -> list[Page]:
    import pdfplumber

    pages = []
    with pdfplumber.open(pdf) as doc:
        for p in doc.pages:
            height = float(p.height)
            chars = [Char(text=c["text"], x=mm(c["matrix"][4]), baseline=mm(height - c["matrix"][5]),
                          size=float(c["size"]), font=c["fontname"], color=c.get("non_stroking_color"))
                     for c in p.chars if c["text"].strip()]
            rects = [{"x0": mm(r["x0"]), "top": mm(r["top"]), "x1": mm(r["x1"]), "bottom": mm(r["bottom"]),
                      "color": r.get("non_stroking_color"), "stroke": r.get("stroking_color")}
                     for r in [*p.rects, *p.lines]]
            pages.append(Page(number=p.page_number, chars=chars, rects=rects))
    return pages


def page_number_dashes(page: Page) -> list[Char]:
    """The two dashes of "— n —" under the text area."""
    return [c for c in page.chars if c.text == "—" and c.baseline > AREA_BOTTOM and abs(c.size - 14) < 0.2]


def is_red(color: Any) -> bool:
    return isinstance(color, tuple | list) and len(color) == 3 and color[0] > 0.8 and color[1] < 0.2


def body_lines(page: Page) -> list[list[Char]]:
    """Lines of 3号 (16 pt) text inside the text area (not the 文号 line of the masthead)."""
    return [line for line in page.lines(BODY_PT) if TOP - 1 < line[0].baseline < AREA_BOTTOM + 1]


def lowest_ink(page: Page, faces: dict[str, FontFace]) -> float:
    """The bottom (mm) of the lowest text or rule inside the text area."""
    bottoms = []
    for c in page.chars:
        if c.baseline > AREA_BOTTOM + 3:  # page number and footer
            continue
        ink = c.ink(faces)
        bottoms.append(ink[3] if ink else c.baseline)
    bottoms += [r["bottom"] for r in page.rects if r["bottom"] < AREA_BOTTOM + 3]
    return max(bottoms, default=TOP)
