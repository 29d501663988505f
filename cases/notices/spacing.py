"""Keep a notice's signature in company by adjusting line and character spacing (GB/T 9704 7.3.5.3).

The last lines of the text, the closing sentence (特此通知。), the 署名, the 成文日期 and the space kept
for the seal travel to the next page together when they do not fit, which can leave the page
before them several lines short. GB/T 9704-2012 7.3.5.3 names the remedy: "当公文排版后所剩空白处
不能容下印章或签发人签名章、成文日期时，可以采取调整行距、字距的措施解决。"

`measure` reads a laid-out WeasyPrint document (its boxes, no PDF): the page the signature is on
and how many body lines each page before it leaves empty. A notice is laid out with GB/T 9704's
22 lines of 28 characters first; only when a page before the signature page ends two or more
lines short (a page followed by a chart, which does not split, excepted: it may end up to 100 mm
short) is it laid out again, with the spacings `candidates` proposes from that first measure, and
the first that satisfies the rule is taken. The bound: line pitch within ±10 % of 28.95 pt (about
24 to 20 lines a page, the title's blank lines and the tables' lines following), 27 to 29
characters a line, at most `MAX_TRIES` more layouts. The decision depends on the content only, so
a notice rendered again is laid out alike.

A page that is mostly charts (the 督查通报's) has few lines for the spacing to spread: when no
spacing within the bound fills it, the charts' heights are scaled instead, with GB/T 9704's own
spacing (a figure's size is free, within reason: its plot 80 % to 120 % of its nominal height,
its labels' size and its width, the text area's, kept), from the scales `chart_candidates`
proposes, at most `MAX_CHART_TRIES` more layouts, only for a notice with charts on or before the
short page. When neither alone fills it (a page of text whose next heading and lines just miss it,
after a page of charts), the two are combined (`combined_candidates`): each spacing tried with each
step of the chart ladder, at most `MAX_COMBINED_TRIES` more layouts, still within both bounds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

_LOGGER = logging.getLogger(__name__)

PX_PER_PT = 96 / 72  # WeasyPrint lays out in CSS px
#: GB/T 9704's body: 3号 (16 pt) on a 28.95 pt line (22 lines in 225 mm), 28 characters in 156 mm.
BODY_PT, LINE_PT, CHARS = 16.0, 28.95, 28
LINE_PX = LINE_PT * PX_PER_PT
#: Letter spacing (pt) that sets a line of `n` characters: n of them fit in 156 mm, n + 1 do not, and
#: a first line indented 2 em holds n − 2 (28 is notice.css's own −0.25 pt).
TRACKING = {27: 0.3, 28: -0.25, 29: -0.85}
#: The bound of an adjusted layout.
MIN_FIT, MAX_FIT = 0.90, 1.10
#: More layouts tried, at most, when the first leaves a page short.
MAX_TRIES = 4
#: The bound of the charts' heights (a share of their nominal ones), and the more layouts tried, at
#: most, with the charts scaled when no spacing fills the page.
MIN_CHARTS, MAX_CHARTS = 0.80, 1.20
MAX_CHART_TRIES = 4
#: The more layouts tried, at most, with spacing and chart scale combined, when neither alone fills.
MAX_COMBINED_TRIES = 16
#: A page before the signature page ends with fewer empty lines than this (GB/T 9704 body lines).
GAP_LINES = 2.0
#: … except one followed by a page that opens with a chart (which does not split): it may end up to
#: 100 mm short, no more (body lines; measured on the boxes, which end at or under the ink).
HOLE_LINES = 100 / 25.4 * 72 / LINE_PT
#: What a loosened layout aims to leave empty on the short page, and the room a tightened one aims
#: to leave for what comes back from the next page (body lines).
LOOSEN_AIM, TIGHTEN_ROOM = 1.0, 1.0
#: The signature page holds no more than the signature's company when it holds no more than this
#: over the closing block (body lines).
UNIT_LINES = 5.0


@dataclass(frozen=True)
class Spacing:
    """The body's line pitch (a share of 28.95 pt), the characters a full line holds, and the
    charts' heights (a share of their nominal ones)."""

    fit: float = 1.0
    chars: int = CHARS
    charts: float = 1.0

    @property
    def adjusted(self) -> bool:
        return self != NOMINAL

    @property
    def lines_adjusted(self) -> bool:
        """Whether the line pitch or the characters a line differ from GB/T 9704's."""
        return (self.fit, self.chars) != (NOMINAL.fit, NOMINAL.chars)

    @property
    def charts_scaled(self) -> bool:
        return self.charts != NOMINAL.charts

    @property
    def line_pt(self) -> float:
        return round(LINE_PT * self.fit, 2)

    @property
    def tracking_pt(self) -> float:
        return TRACKING[self.chars]

    def css(self) -> str:
        """The custom properties notice.css lays the body out with."""
        return f"--line: {self.line_pt}pt; --fit: {self.fit:g}; --tracking: {self.tracking_pt:g}pt"

    def __str__(self) -> str:
        charts = f", charts {self.charts:.0%} high" if self.charts_scaled else ""
        return f"line pitch {self.line_pt:.2f} pt ({self.fit:.0%}), {self.chars} characters a line{charts}"


NOMINAL = Spacing()


def within_bound(spacing: Spacing) -> bool:
    return (MIN_FIT <= spacing.fit <= MAX_FIT and spacing.chars in TRACKING
            and MIN_CHARTS <= spacing.charts <= MAX_CHARTS)


@dataclass(frozen=True)
class Measure:
    """Where a laid-out notice's signature fell and what the pages before it leave empty.

    Lengths are in GB/T 9704 body lines (28.95 pt), measured on the boxes: from the foot of a
    page's last line (or table row, or image) to the foot of the text area.
    """

    spacing: Spacing
    signature: int | None  # 0-based page holding the closing block
    gaps: tuple[float, ...]  # each page before the signature page: empty lines at its foot
    exempt: tuple[bool, ...]  # … followed by a page that opens with a chart, and less than 100 mm short
    used: tuple[float, ...]  # every page: lines from the top of the text area to the foot of its content
    scalable: tuple[float, ...]  # every page: those of its lines that follow the spacing
    closing: float  # the closing block's height
    limit: float  # a page is short from this gap on
    charts: tuple[float, ...] = ()  # every page: the height of its charts' drawings (what their scale scales)

    @property
    def short(self) -> int | None:
        """The first page before the signature page that ends too short."""
        return next((i for i, (g, x) in enumerate(zip(self.gaps, self.exempt, strict=True))
                     if g >= self.limit and not x), None)

    @property
    def ok(self) -> bool:
        return self.short is None

    @property
    def worst(self) -> float:
        return max((g for g, x in zip(self.gaps, self.exempt, strict=True) if not x), default=0.0)


def has_class(box: Any, name: str) -> bool:
    element = getattr(box, "element", None)
    return (element is not None and name in (element.get("class") or "").split()
            and not box.element_tag.startswith("::"))


def holds_class(box: Any, name: str) -> bool:
    """Whether a laid-out box or one of its descendants renders an element of class `name`."""
    return has_class(box, name) or any(holds_class(child, name) for child in getattr(box, "children", ()))


def _find(box: Any, name: str) -> Any | None:
    if has_class(box, name):
        return box
    for child in getattr(box, "children", ()):
        found = _find(child, name)
        if found is not None:
            return found
    return None


def _scalable(box: Any) -> float:
    """The height (px) of the lines of text and table rows in the flow under `box` (what follows
    the line pitch; images such as charts keep their size)."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.FootnoteAreaBox | boxes.MarginBox) or box.is_absolutely_positioned():
        return 0.0
    if isinstance(box, boxes.LineBox | boxes.TableRowBox):
        return 0.0 if any(isinstance(b, boxes.ReplacedBox) for b in box.descendants()) else box.margin_height()
    return sum(_scalable(c) for c in getattr(box, "children", ()))


def _content_bottom(box: Any) -> float | None:
    """The foot (px) of the lowest line, table row or image in the flow under `box`."""
    from weasyprint.formatting_structure import boxes

    if isinstance(box, boxes.FootnoteAreaBox | boxes.MarginBox) or box.is_absolutely_positioned():
        return None
    if isinstance(box, boxes.LineBox | boxes.TableRowBox | boxes.ReplacedBox):
        return box.position_y + box.margin_height() if box.height else None
    bottoms = [b for b in (_content_bottom(c) for c in getattr(box, "children", ())) if b is not None]
    return max(bottoms, default=None)


def _charts(box: Any, inside: bool = False) -> float:
    """The height (px) of the charts' drawings (images in a figure of class chart) under `box`."""
    from weasyprint.formatting_structure import boxes

    inside = inside or has_class(box, "chart")
    if inside and isinstance(box, boxes.ReplacedBox):
        return box.margin_height()
    return sum(_charts(c, inside) for c in getattr(box, "children", ()))


def _opens_with_chart(box: Any) -> bool:
    """Whether the first thing in the flow of a page is a figure (a chart)."""
    from weasyprint.formatting_structure import boxes

    for child in getattr(box, "children", ()):
        if isinstance(child, boxes.FootnoteAreaBox | boxes.MarginBox):
            continue
        if has_class(child, "chart"):
            return True
        if isinstance(child, boxes.LineBox | boxes.TableBox | boxes.TableRowBox | boxes.ReplacedBox):
            return False
        if getattr(child, "children", None):
            return _opens_with_chart(child)
    return False


def measure(document: Any, spacing: Spacing, limit: float) -> Measure:
    """Measure a laid-out document (`weasyprint.Document`) laid out with `spacing`."""
    pages = [p._page_box for p in document.pages]
    signature = next((i for i in range(len(pages) - 1, -1, -1) if holds_class(pages[i], "closing")), None)
    used, scalable, gaps, charts = [], [], [], []
    for i, page in enumerate(pages):
        top = page.content_box_y()
        bottom = _content_bottom(page)
        height = (bottom - top if bottom is not None else 0.0) / LINE_PX
        used.append(height)
        masthead = _find(page, "masthead") if i == 0 else None  # the 版头 keeps its size
        scalable.append((_scalable(page) - (_scalable(masthead) if masthead is not None else 0.0)) / LINE_PX)
        charts.append(_charts(page) / LINE_PX)
        if signature is not None and i < signature:
            gaps.append(page.height / LINE_PX - height)
    exempt = tuple(_opens_with_chart(pages[i + 1]) and gaps[i] < HOLE_LINES for i in range(len(gaps)))
    closing = 0.0
    if signature is not None:
        box = _find(pages[signature], "closing")
        closing = box.margin_height() / LINE_PX if box is not None else 0.0
    return Measure(spacing=spacing, signature=signature, gaps=tuple(gaps), exempt=exempt, used=tuple(used),
                   scalable=tuple(scalable), closing=closing, limit=limit, charts=tuple(charts))


def _clamp(fit: float) -> float:
    return round(min(max(fit, MIN_FIT), MAX_FIT), 2)


#: Tried after the spacings estimated from the first layout.
_LADDER = (1.04, 0.95, 1.07, 0.92, 0.90, 1.10)
#: Tried first when what missed the short page is not the signature's company (a heading with the
#: start of a table, say): those lines come back when the pages before tighten a little.
_TIGHTER = (0.95, 0.90, 0.97)


def candidates(first: Measure) -> list[Spacing]:
    """The spacings to try, in order, after a layout with GB/T 9704's that leaves a page short.

    When the next page is the signature page and holds little more than the signature, two are
    estimated from the first layout: loosened so that the short page fills (its lines and those
    before it grow by the gap, less a line), or tightened so that the signature comes back (they
    shrink by what the signature page holds less the gap, plus a line). The smaller change is
    tried first, then a little further, then the other, then with one character a line fewer
    (looser) or more (tighter); otherwise tighter spacings first. Then a ladder; at most
    `MAX_TRIES`, all within the bound.
    """
    short = first.short
    if short is None:
        return []
    gap = first.gaps[short]
    before = max(sum(first.scalable[: short + 1]), 1.0)
    loosen = 1 + (gap - LOOSEN_AIM) / before
    if first.signature == short + 1 and first.used[short + 1] <= first.closing + UNIT_LINES:
        unit = first.used[short + 1]
        tighten = 1 - (unit - gap + TIGHTEN_ROOM) / (before + max(unit - first.closing, 0.0))
        near, far = sorted((loosen, tighten), key=lambda f: abs(f - 1))
        further, chars = (near + 0.02, CHARS - 1) if near > 1 else (near - 0.02, CHARS + 1)
        tries = [Spacing(_clamp(near)), Spacing(_clamp(further))]
        if abs(far - 1) <= 1.2 * (MAX_FIT - 1):  # not far beyond the bound
            tries.append(Spacing(_clamp(far)))
        tries += [Spacing(_clamp(near), chars), Spacing(_clamp(far))]
    else:
        tries = [*(Spacing(f) for f in _TIGHTER), Spacing(MIN_FIT, CHARS + 1), Spacing(_clamp(loosen))]
    tries += [Spacing(f) for f in _LADDER]
    out: list[Spacing] = []
    for s in tries:
        if s.adjusted and s not in out:
            out.append(s)
    return out[:MAX_TRIES]


def _clamp_charts(scale: float) -> float:
    return round(min(max(scale, MIN_CHARTS), MAX_CHARTS), 2)


#: Tried after the chart scales estimated from the first layout.
_CHART_LADDER = (0.90, 1.10, MIN_CHARTS, MAX_CHARTS)


def chart_candidates(first: Measure) -> list[Spacing]:
    """The chart scales to try, with GB/T 9704's spacing, after a layout that leaves a page short.

    None unless charts are drawn on the short page or before it. Estimated from the first layout:
    the charts up to the short page grow by its gap less a line (what follows them moves down by
    as much), then a little further; then a ladder: a little smaller (so that what missed the
    short page comes back), a little larger, the smallest, the largest. At most `MAX_CHART_TRIES`,
    all within the bound.
    """
    short = first.short
    if short is None:
        return []
    drawn = sum(first.charts[: short + 1])
    if drawn <= 0:
        return []
    grow = 1 + (first.gaps[short] - LOOSEN_AIM) / drawn
    out: list[Spacing] = []
    for scale in (grow, grow + 0.05, *_CHART_LADDER):
        s = Spacing(charts=_clamp_charts(scale))
        if s.adjusted and s not in out:
            out.append(s)
    return out[:MAX_CHART_TRIES]


def combined_candidates(first: Measure) -> list[Spacing]:
    """Each spacing of `candidates` with each step of the chart ladder, for a notice whose charts are
    on or before the short page and that neither alone filled; at most `MAX_COMBINED_TRIES`."""
    if not chart_candidates(first):
        return []
    out = [Spacing(fit=s.fit, chars=s.chars, charts=scale) for s in candidates(first) for scale in _CHART_LADDER]
    return out[:MAX_COMBINED_TRIES]
