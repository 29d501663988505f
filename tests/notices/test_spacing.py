"""The bound and the candidates of an adjusted spacing (GB/T 9704 7.3.5.3), without laying anything out."""

from __future__ import annotations

import pytest

from cases.notices.spacing import (
    BODY_PT,
    CHARS,
    LINE_PT,
    MAX_CHART_TRIES,
    MAX_COMBINED_TRIES,
    MAX_TRIES,
    NOMINAL,
    TRACKING,
    Measure,
    Spacing,
    candidates,
    chart_candidates,
    combined_candidates,
    within_bound,
)

AREA_PT = 156 / 25.4 * 72


@pytest.mark.parametrize("chars", sorted(TRACKING))
def test_tracking_sets_the_characters_a_line(chars: int) -> None:
    """n characters fit the 156 mm line and n + 1 do not; a first line indented 2 em holds n − 2."""
    pitch = BODY_PT + TRACKING[chars]
    assert chars * pitch <= AREA_PT < (chars + 1) * pitch
    assert 2 * BODY_PT + (chars - 2) * pitch <= AREA_PT < 2 * BODY_PT + (chars - 1) * pitch


def test_nominal_is_gb_t_9704() -> None:
    assert not NOMINAL.adjusted and NOMINAL.line_pt == LINE_PT and NOMINAL.chars == CHARS == 28
    assert NOMINAL.tracking_pt == -0.25  # notice.css's own
    assert Spacing(0.95).adjusted and Spacing(1.0, 27).adjusted


def _measure(gaps: list[float], used: list[float], signature: int, charts: tuple[float, ...] = ()) -> Measure:
    return Measure(spacing=NOMINAL, signature=signature, gaps=tuple(gaps), exempt=(False,) * len(gaps),
                   used=tuple(used), scalable=tuple(u - 6 if i == 0 else u for i, u in enumerate(used)),
                   closing=3.5, limit=1.7, charts=charts)


@pytest.mark.parametrize(("gaps", "used"), [
    ([0.0, 5.5], [22.0, 16.5, 7.5]),  # the signature and two lines went over, five and a half lines left
    ([0.0, 2.2], [22.0, 19.8, 6.5]),
    ([3.5], [18.5, 6.5]),  # a short body
    ([2.6, 0.3], [19.4, 21.7, 12.0]),  # a table that just missed the first page
])
def test_candidates_stay_within_the_bound(gaps: list[float], used: list[float]) -> None:
    first = _measure(gaps, used, len(gaps))
    assert not first.ok
    tries = candidates(first)
    assert 0 < len(tries) <= MAX_TRIES and len(set(tries)) == len(tries)
    assert all(within_bound(s) and s.adjusted for s in tries)


def test_a_small_gap_loosens_a_large_one_tightens() -> None:
    """What the first layout measured decides the direction tried first: a page two lines short
    fills when its lines spread a little; one that misses most of the signature takes it back."""
    assert candidates(_measure([0.0, 2.2], [22.0, 19.8, 6.5], 2))[0].fit > 1
    assert candidates(_measure([0.0, 5.5], [22.0, 16.5, 7.5], 2))[0].fit < 1


def test_a_full_document_needs_nothing() -> None:
    assert candidates(_measure([0.3, 1.2], [21.7, 20.8, 7.0], 2)) == []


def test_charts_scale_within_their_bound_only_where_drawn() -> None:
    """Charts on or before the short page grow first (what follows them moves down to fill it), then
    a ladder both ways; all within 80 % to 120 %, GB/T 9704's spacing kept. None without charts there."""
    first = _measure([1.1, 0.0, 2.7], [21.0, 22.0, 19.3, 16.0], 3, charts=(0.0, 5.1, 6.9, 0.0))
    scaled = chart_candidates(first)
    assert 0 < len(scaled) <= MAX_CHART_TRIES and len(set(scaled)) == len(scaled)
    assert all(within_bound(s) and s.charts_scaled and not s.lines_adjusted for s in scaled)
    assert scaled[0].charts == pytest.approx(1 + (2.7 - 1.0) / 12.0, abs=0.01)
    assert {s.charts for s in scaled} >= {0.9}  # and one that takes back what missed the page
    assert chart_candidates(_measure([1.1, 0.0, 2.7], [21.0, 22.0, 19.3, 16.0], 3, charts=(0.0,) * 3 + (6.0,))) == []
    assert chart_candidates(_measure([0.3, 1.2], [21.7, 20.8, 7.0], 2, charts=(5.0, 5.0, 0.0))) == []
    assert not within_bound(Spacing(charts=0.75)) and not within_bound(Spacing(charts=1.25))


def test_spacing_and_charts_combined_only_where_charts_are_drawn() -> None:
    """When neither alone fills the page, each spacing is tried with each step of the chart ladder:
    both adjusted, both within their bounds, none tried twice, at most `MAX_COMBINED_TRIES`. None
    without charts on or before the short page, none for a document that needs nothing."""
    first = _measure([1.1, 0.0, 2.7], [21.0, 22.0, 19.3, 16.0], 3, charts=(0.0, 5.1, 6.9, 0.0))
    both = combined_candidates(first)
    assert 0 < len(both) <= MAX_COMBINED_TRIES and len(set(both)) == len(both)
    assert all(within_bound(s) and s.charts_scaled and s.lines_adjusted for s in both)
    assert {(s.fit, s.chars) for s in both} <= {(s.fit, s.chars) for s in candidates(first)}
    assert not set(both) & {*candidates(first), *chart_candidates(first)}
    assert combined_candidates(_measure([1.1, 0.0, 2.7], [21.0, 22.0, 19.3, 16.0], 3, charts=(0.0,) * 3 + (6.0,))) == []
    assert combined_candidates(_measure([0.3, 1.2], [21.7, 20.8, 7.0], 2, charts=(5.0, 5.0, 0.0))) == []
