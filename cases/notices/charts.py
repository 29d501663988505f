"""Geometry of the simple bar charts in the 督查通报: numbers in, rectangles and labels out.

No drawing here: `templates/notices/_charts.html` turns these into inline SVG. Coordinates
are SVG user units in a 600-unit-wide viewBox (printed 156 mm wide, so 1 unit ≈ 0.26 mm).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

_LOGGER = logging.getLogger(__name__)

WIDTH = 600.0
PALETTE = ("#c00000", "#e46c0a", "#f2b134", "#4f81bd", "#2e7d32", "#7f7f7f", "#8064a2", "#4bacc6", "#9bbb59")


def nice_max(value: float, ticks: int = 4, *, whole: bool = False) -> tuple[float, float]:
    """A round axis maximum ≥ `value` and its tick step (1, 2, 2.5 or 5 × 10ⁿ).

    `whole`: the values are counts, so every tick is a whole number (a chart of 1 case has the ticks
    0 and 1, not 0.25 … 1).
    """
    if value <= 0:
        return float(ticks), 1.0
    if whole and value <= ticks:
        return float(math.ceil(value)), 1.0
    raw = value / ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if step >= 1:
        step = float(math.ceil(step))
    return step * ticks, step


def _counts(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:.1f}"


def column_chart(labels: Sequence[str], values: Sequence[float], *, height: float = 200.0,
                 colors: Sequence[str] | None = None, unit: str = "") -> dict[str, Any]:
    """Vertical bars, one per label, with the value above each bar and a light grid."""
    left, right, top, bottom = 34.0, 8.0, 14.0, 34.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    vmax, step = nice_max(max(values, default=0), whole=_counts(values))
    n = max(len(values), 1)
    slot = plot_w / n
    bar_w = min(slot * 0.62, 46.0)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        h = plot_h * (value / vmax) if vmax else 0.0
        x = left + slot * i + (slot - bar_w) / 2
        bars.append({"label": label, "value": _fmt(value) + unit, "x": round(x, 2), "y": round(top + plot_h - h, 2),
                     "w": round(bar_w, 2), "h": round(h, 2), "cx": round(x + bar_w / 2, 2),
                     "color": (colors or PALETTE)[i % len(colors or PALETTE)]})
    grid = []
    tick = 0.0
    while tick <= vmax + 1e-9:
        grid.append({"y": round(top + plot_h - plot_h * tick / vmax, 2), "label": _fmt(tick)})
        tick += step
    return {"kind": "column", "width": WIDTH, "height": height, "left": left, "right": WIDTH - right,
            "top": top, "base": top + plot_h, "bars": bars, "grid": grid, "label_y": top + plot_h + 14}


def stacked_bar_chart(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
                      row_height: float = 15.0, colors: Sequence[str] | None = None) -> dict[str, Any]:
    """Horizontal stacked bars, one row per label; `series` is [(name, values per label)]."""
    left, right, top = 92.0, 40.0, 22.0
    plot_w = WIDTH - left - right
    totals = [sum(vals[i] for _name, vals in series) for i in range(len(labels))]
    vmax, step = nice_max(max(totals, default=0), whole=_counts(totals))
    palette = colors or PALETTE
    rows = []
    for i, label in enumerate(labels):
        y = top + i * row_height
        x = left
        segs = []
        for j, (_name, vals) in enumerate(series):
            w = plot_w * vals[i] / vmax if vmax else 0.0
            if w > 0:
                segs.append({"x": round(x, 2), "w": round(w, 2), "color": palette[j % len(palette)],
                             "value": _fmt(vals[i])})
            x += w
        rows.append({"label": label, "y": round(y, 2), "h": round(row_height * 0.7, 2),
                     "ty": round(y + row_height * 0.55, 2), "segs": segs, "total": _fmt(totals[i]),
                     "end": round(x + 3, 2)})
    height = top + len(labels) * row_height + 8
    grid = []
    tick = 0.0
    while tick <= vmax + 1e-9:
        grid.append({"x": round(left + plot_w * tick / vmax, 2), "label": _fmt(tick)})
        tick += step
    legend = []
    lx = left
    for j, (name, _vals) in enumerate(series):
        legend.append({"name": name, "color": palette[j % len(palette)], "x": round(lx, 2)})
        lx += 14 + 9.5 * len(name) + 18
    return {"kind": "stacked", "width": WIDTH, "height": round(height, 2), "left": left, "top": top,
            "bottom": round(top + len(labels) * row_height, 2), "rows": rows, "grid": grid, "legend": legend}


def paired_column_chart(labels: Sequence[str], values: Sequence[float], targets: Sequence[float | None], *,
                        names: tuple[str, str] = ("实际", "目标"), unit: str = "", height: float = 180.0,
                        colors: tuple[str, str] = ("#4f81bd", "#bfbfbf")) -> dict[str, Any]:
    """Two columns per label, the actual value (one decimal) beside its target (none drawn when missing)."""
    left, right, top, bottom = 34.0, 8.0, 24.0, 30.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    vmax, step = nice_max(max([*values, *(t for t in targets if t is not None)], default=0))
    slot = plot_w / max(len(labels), 1)
    bar_w = min(slot * 0.3, 44.0)
    bars = []
    for i, (label, value, target) in enumerate(zip(labels, values, targets, strict=True)):
        x0 = left + slot * i + slot / 2 - bar_w
        for j, v in enumerate((value, target)):
            if v is None:
                continue
            h = plot_h * v / vmax if vmax else 0.0
            x = x0 + j * bar_w
            bars.append({"x": round(x, 2), "y": round(top + plot_h - h, 2), "w": round(bar_w - 2, 2),
                         "h": round(h, 2), "cx": round(x + bar_w / 2 - 1, 2),
                         "value": (f"{v:.1f}" if j == 0 else _fmt(v)) + unit,
                         "color": colors[j], "label": label if j == 0 else ""})
    grid = []
    tick = 0.0
    while tick <= vmax + 1e-9:
        grid.append({"y": round(top + plot_h - plot_h * tick / vmax, 2), "label": _fmt(tick)})
        tick += step
    labels_at = [{"label": label, "cx": round(left + slot * i + slot / 2, 2)} for i, label in enumerate(labels)]
    legend = [{"name": names[0], "color": colors[0], "x": left}, {"name": names[1], "color": colors[1],
                                                                   "x": left + 24 + 10 * len(names[0])}]
    return {"kind": "paired", "width": WIDTH, "height": height, "left": left, "right": WIDTH - right, "top": top,
            "base": top + plot_h, "bars": bars, "grid": grid, "labels": labels_at, "label_y": top + plot_h + 14,
            "legend": legend}
