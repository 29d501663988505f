"""Geometry for the charts drawn on the pages as inline SVG: bars, lines and the workflow graph.

Only numbers are computed here; the SVG markup lives in `templates/web/_charts.html`.
No JavaScript and nothing from a CDN: the pages must work on machines without internet.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from workflow.spec import PREVIOUS, SAME, Role, WorkflowSpec

_LOGGER = logging.getLogger(__name__)


# -- bars ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    y: float
    width: float
    css: str
    href: str = ""


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]


def bar_chart(items: list[tuple[str, int, str, str]], *, width: int = 420, label_width: int = 96,
              bar_height: int = 16, gap: int = 5) -> BarChart:
    """Horizontal bars for (label, value, css class, link) items, scaled to the largest value."""
    top = max((v for _, v, _, _ in items), default=0) or 1
    room = width - label_width - 40
    bars = [Bar(label=label, value=value, y=i * (bar_height + gap), width=max(room * value / top, 1 if value else 0),
                css=css, href=href)
            for i, (label, value, css, href) in enumerate(items)]
    return BarChart(width=width, height=max(len(items) * (bar_height + gap), bar_height), label_width=label_width,
                    bar_height=bar_height, bars=bars)


# -- lines -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: list[tuple[float, float, int]]  # x, y, value

    @property
    def path(self) -> str:
        return " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _) in enumerate(self.points))


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    bottom: int
    series: list[Series]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]


def _nice_top(value: int) -> int:
    if value <= 5:
        return 5
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10):
        top = int(step * magnitude)
        if top >= value:
            return top
    return value


def line_chart(labels: list[str], series: list[tuple[str, str, list[int]]], *, width: int = 420,
               height: int = 240) -> LineChart:
    """Lines over a shared x axis (e.g. weeks); the y axis starts at zero."""
    left, right, top_pad, bottom = 40, 30, 12, 28
    top = _nice_top(max((max(v, default=0) for _, _, v in series), default=0))
    n = max(len(labels), 2)
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x(i: int) -> float:
        return left + plot_w * i / (n - 1)

    def y(v: int) -> float:
        return top_pad + plot_h * (1 - v / top)

    out = [Series(name, css, [(x(i), y(v), v) for i, v in enumerate(values)]) for name, css, values in series]
    step = max(1, math.ceil(len(labels) / 5))
    x_labels = [(x(i), label) for i, label in enumerate(labels) if (len(labels) - 1 - i) % step == 0]
    y_ticks = [(y(int(top * k / 4)), int(top * k / 4)) for k in range(5)]
    return LineChart(width=width, height=height, left=left, bottom=height - bottom, series=out,
                     x_labels=x_labels, y_ticks=y_ticks)


# -- the workflow graph ----------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    name: str
    zh: str
    x: float
    y: float
    css: str


@dataclass(frozen=True)
class Edge:
    path: str
    title: str
    css: str


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    node_width: int
    node_height: int
    nodes: list[Node]
    edges: list[Edge]


ROLE_CSS = {Role.INSPECTOR: "inspector", Role.REVIEWER: "reviewer", Role.SYSTEM: "system"}


def _ranks(spec: WorkflowSpec, edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layers after dropping the edges that close a cycle (found by depth-first search)."""
    succ: dict[str, list[str]] = {}
    for s, d in edges:
        succ.setdefault(s, []).append(d)
    back: set[tuple[str, str]] = set()
    colour: dict[str, int] = {}

    def visit(u: str) -> None:
        colour[u] = 1
        for v in succ.get(u, []):
            if colour.get(v) == 1:
                back.add((u, v))
            elif v not in colour:
                visit(v)
        colour[u] = 2

    visit(spec.initial)
    for st in spec.states:
        if st.name not in colour:
            visit(st.name)
    forward = [(s, d) for s, d in edges if (s, d) not in back]
    rank: dict[str, int] = {}

    def layer(n: str) -> int:
        if n not in rank:
            preds = [s for s, d in forward if d == n and s != n]
            rank[n] = 0 if not preds else 1 + max(layer(p) for p in preds)
        return rank[n]

    for st in spec.states:
        layer(st.name)
    return rank


def workflow_graph(spec: WorkflowSpec, *, node_width: int = 124, node_height: int = 34, col_gap: int = 36,
                   row_gap: int = 40) -> Graph:
    """A top-to-bottom layered drawing of the declared states and transitions.

    Layers are longest paths from the initial state (cycles broken where a depth-first search
    closes them); within a layer nodes are ordered by the mean position of their neighbours,
    and each edge gets its own port on the box so that arrows do not all meet in one point.
    `send_back` (back to the state before the proposal) and acts that keep the state (督办反馈)
    are left out: the table lists them.
    """
    # acts recorded in place (督办反馈, 12345 工单) move no state: the diagram shows moves only
    triples = [(src, t.dest, t) for t in spec.transitions if t.dest not in (PREVIOUS, SAME) for src in t.sources]
    rank = _ranks(spec, [(s, d) for s, d, _ in triples])
    rows: dict[int, list[str]] = {}
    for st in spec.states:
        rows.setdefault(rank[st.name], []).append(st.name)
    pos = {n: float(i) for r in rows.values() for i, n in enumerate(r)}
    for sweep in range(6):
        order = sorted(rows) if sweep % 2 == 0 else sorted(rows, reverse=True)
        for r in order:
            def weight(n: str, downwards: bool = sweep % 2 == 0) -> float:
                near = ([pos[s] for s, d, _ in triples if d == n and rank[s] != rank[n]] if downwards
                        else [pos[d] for s, d, _ in triples if s == n and rank[d] != rank[n]])
                return sum(near) / len(near) if near else pos[n]
            rows[r].sort(key=weight)
            width = len(rows[r])
            for i, n in enumerate(rows[r]):
                pos[n] = i - (width - 1) / 2
    widest = max(len(r) for r in rows.values())
    slot = node_width + col_gap
    left = 70
    width = int(left * 2 + widest * slot - col_gap)
    centre = width / 2
    xy = {n: (centre + pos[n] * slot - node_width / 2, 20 + rank[n] * (node_height + row_gap)) for n in pos}
    height = int(20 + (max(rank.values()) + 1) * (node_height + row_gap))
    nodes = [Node(st.name, st.zh, *xy[st.name],
                  css="terminal" if st.terminal else "proposal" if st.proposal else "working")
             for st in spec.states]
    # ports: spread each box's outgoing edges along its bottom and incoming along its top
    down = [(s, d) for s, d, _ in triples if rank[d] > rank[s]]
    outs: dict[str, list[str]] = {}
    ins: dict[str, list[str]] = {}
    for s, d in down:
        outs.setdefault(s, []).append(d)
        ins.setdefault(d, []).append(s)
    for s in outs:
        outs[s].sort(key=lambda d: xy[d][0])
    for d in ins:
        ins[d].sort(key=lambda s: xy[s][0])

    def port(n: str, i: int, k: int) -> float:
        return xy[n][0] + node_width * (i + 1) / (k + 1)

    out_edges = []
    for src, dst, t in triples:
        (x1, y1), (x2, y2) = xy[src], xy[dst]
        role = next(iter(sorted(t.roles)))
        css = ROLE_CSS.get(Role(role), "inspector")
        if rank[dst] > rank[src]:
            sx = port(src, outs[src].index(dst), len(outs[src]))
            ex = port(dst, ins[dst].index(src), len(ins[dst]))
            sy, ey = y1 + node_height, y2 - 3
            bend = (ey - sy) / 2
            path = f"M{sx:.0f},{sy:.0f} C{sx:.0f},{sy + bend:.0f} {ex:.0f},{ey - bend:.0f} {ex:.0f},{ey:.0f}"
        else:  # back up (or sideways): round the left or right side of the boxes
            right = x1 + node_width / 2 >= centre
            sx = x1 + node_width if right else x1
            ex = (x2 + node_width + 3) if right else (x2 - 3)
            sy, ey = y1 + node_height / 2, y2 + node_height / 2
            out = 40 + abs(sy - ey) / 6
            bulge = max(sx, ex) + out if right else min(sx, ex) - out
            path = f"M{sx:.0f},{sy:.0f} C{bulge:.0f},{sy:.0f} {bulge:.0f},{ey:.0f} {ex:.0f},{ey:.0f}"
        out_edges.append(Edge(path=path, title=f"{t.zh}：{spec.state(src).zh} → {spec.state(dst).zh}",
                              css=css))
    return Graph(width=width, height=height, node_width=node_width, node_height=node_height,
                 nodes=nodes, edges=out_edges)
