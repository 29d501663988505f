"""The periodic 督查通报: district figures for a week or a month, issued as a numbered notice.

`bulletin_data` reads the tables township, point, case, case_event (and notice) and returns
plain JSON: counts by state group and township, the reduction in operating points since the
campaign began (closed, banned and converted against all), overdue cases by escalation level,
and what happened in the period. `issue_bulletin` stores it as a `bulletin` Notice (gap-free
number, same figures → the same notice), and `render_report` renders it to a file.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from cases.config import District
from cases.errors import InvalidInput
from cases.models import Case, CaseEvent, Notice, Point, Township
from cases.notices import charts
from cases.notices.codes import canonical_json
from workflow.notices import NOTICE_TITLES, NoticeKind

_LOGGER = logging.getLogger(__name__)

PeriodKind = Literal["week", "month"]

#: State groups shown as columns: (key, 中文, states).
GROUPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("review", "审查核查中", ("registered", "under_review")),
    ("rectifying", "整改中", ("rectifying", "reinspecting")),
    ("overdue", "逾期未整改", ("overdue",)),
    ("proposed", "待审批", ("filing_proposed", "refusal_proposed", "conversion_proposed",
                           "enforcement_proposed", "closure_proposed")),
    ("enforcing", "停办处置中", ("refused", "enforcement")),
    ("filed", "已备案", ("filed",)),
    ("converted", "已转型", ("converted",)),
    ("closed", "已停办", ("closed",)),
    ("banned", "已取缔", ("banned",)),
)
GROUP_OF: dict[str, str] = {state: key for key, _zh, states in GROUPS for state in states}
TERMINAL = frozenset({"filed", "converted", "closed", "banned"})
REDUCED = frozenset({"converted", "closed", "banned"})  # no longer operating as a private point
LEVEL_ZH = {0: "未督办", 1: "镇街督办", 2: "区教育局督办", 3: "挂牌督办"}
MAX_LISTED = 30


@dataclass(frozen=True)
class Period:
    """The reporting period: an ISO week or a calendar month, up to and including `as_of`."""

    kind: PeriodKind
    start: date
    end: date
    key: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "key": self.key, "label": self.label}


def period_of(kind: str, today: date) -> Period:
    """The week (Monday to Sunday) or month that contains `today`."""
    if kind == "week":
        start = today - timedelta(days=today.weekday())
        end = start + timedelta(days=6)
        year, week, _ = today.isocalendar()
        return Period("week", start, end, f"{year}-W{week:02d}",
                      f"{year}年第{week}周（{start.month}月{start.day}日至{end.month}月{end.day}日）")
    if kind == "month":
        start = today.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return Period("month", start, end, f"{today.year}-{today.month:02d}", f"{today.year}年{today.month}月")
    raise InvalidInput(f"通报周期须为 week 或 month，而不是 {kind!r}", f"period must be week or month, not {kind!r}")


def local_today(district: District) -> date:
    return datetime.now(ZoneInfo(district.district.timezone)).date()


def _utc_bounds(district: District, start: date, end: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(district.district.timezone)
    lo = datetime.combine(start, time.min, tz).astimezone(UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC)
    return lo, hi


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 1) if whole else 0.0


def bulletin_data(session: Session, district: District, period: Period, *, as_of: date) -> dict[str, Any]:
    """The figures of the 督查通报 as plain JSON (see the module docstring)."""
    cal = district.work_calendar()
    rows = session.exec(
        select(Case, Point, Township)
        .join(Point, col(Point.id) == col(Case.point_id))
        .join(Township, col(Township.id) == col(Case.township_id))
        .where(Case.workflow == "rectification")
    ).all()
    townships = session.exec(select(Township)).all()
    order = {t.code: i for i, t in enumerate(district.townships)}
    by_town: dict[int, dict[str, Any]] = {}
    for t in sorted(townships, key=lambda t: (order.get(t.code, 10_000), t.code)):
        by_town[t.id or 0] = {"code": t.code, "name": t.name, "total": 0, "groups": Counter(), "reduced": 0,
                              "done": 0}
    groups: Counter[str] = Counter()
    states: Counter[str] = Counter()
    overdue: list[dict[str, Any]] = []
    by_level: Counter[str] = Counter()
    for case, point, town in rows:
        grp = GROUP_OF.get(case.state, "review")
        groups[grp] += 1
        states[case.state] += 1
        row = by_town.setdefault(town.id or 0, {"code": town.code, "name": town.name, "total": 0,
                                                 "groups": Counter(), "reduced": 0, "done": 0})
        row["total"] += 1
        row["groups"][grp] += 1
        row["reduced"] += case.state in REDUCED
        row["done"] += case.state in TERMINAL
        late = case.state not in TERMINAL and (
            case.state == "overdue" or (case.deadline is not None and case.deadline < as_of))
        if late:
            level = max(0, min(3, case.escalation_level))
            by_level[str(level)] += 1
            overdue.append({"case_id": case.id, "point": point.name, "township": town.name,
                            "deadline": case.deadline.isoformat() if case.deadline else "",
                            "days": cal.between(case.deadline, as_of) if case.deadline else 0,
                            "level": level, "level_zh": level_names(district)[str(level)]})
    total = sum(groups.values())
    reduced = sum(states[s] for s in REDUCED)
    town_rows = []
    for row in by_town.values():
        town_rows.append({"code": row["code"], "name": row["name"], "total": row["total"],
                          "groups": dict(row["groups"]), "reduced": row["reduced"],
                          "reduction_pct": _pct(row["reduced"], row["total"]),
                          "done_pct": _pct(row["done"], row["total"])})
    ranked = sorted((r for r in town_rows if r["total"]), key=lambda r: (-r["done_pct"], r["code"]))
    overdue.sort(key=lambda o: (-o["level"], -o["days"], o["case_id"] or 0))
    lo, hi = _utc_bounds(district, period.start, min(period.end, as_of))
    events = session.exec(
        select(CaseEvent.trigger, CaseEvent.to_state)
        .where(col(CaseEvent.at) >= lo, col(CaseEvent.at) < hi)
    ).all()
    triggers = Counter(t for t, _ in events)
    notices = Counter(session.exec(
        select(Notice.kind).where(col(Notice.issued_on) >= period.start, col(Notice.issued_on) <= as_of)
    ).all())
    return {
        "title": NOTICE_TITLES[NoticeKind.BULLETIN],
        "period": period.as_dict(),
        "as_of": as_of.isoformat(),
        "campaign_start": district.district.campaign_start.isoformat(),
        "groups": [{"key": k, "zh": zh} for k, zh, _s in GROUPS],
        "totals": {"total": total, "groups": dict(groups), "states": dict(states), "reduced": reduced,
                   "operating": total - reduced, "reduction_pct": _pct(reduced, total),
                   "done": sum(states[s] for s in TERMINAL)},
        "townships": town_rows,
        "leaders": [r["name"] for r in ranked[:3]] if len(ranked) >= 6 else [],
        "laggards": [r["name"] for r in ranked[-3:]] if len(ranked) >= 6 else [],
        "overdue": {"total": len(overdue), "by_level": {str(k): by_level[str(k)] for k in range(4)},
                    "cases": overdue[:MAX_LISTED], "more": max(0, len(overdue) - MAX_LISTED)},
        "period_events": {
            "orders": triggers["order_rectification"] + triggers["fail_reinspection"],
            "reinspections": triggers["fail_reinspection"] + triggers["propose_filing"],
            "finished": sum(1 for _t, to in events if to in TERMINAL),
            "supervisions": notices[NoticeKind.SUPERVISION_NOTICE.value]
            + notices[NoticeKind.LISTED_SUPERVISION.value],
            "transitions": len(events),
        },
        "contact": district.district.contact,
        "indicators": _indicators(session, district),
        "level_names": level_names(district),  # the district's words for the ladder's rungs
        "bureau_short": district.district.bureau_short,
    }


def level_names(district: District) -> dict[str, str]:
    """未督办 and the district's names of ladder levels 1–3 (石景山: 街道督办, 区教委督办)."""
    sup = district.supervision
    return {"0": LEVEL_ZH[0], "1": sup.level1.name, "2": sup.level2.name, "3": sup.level3.name}


def _indicators(session: Session, district: District) -> dict[str, Any]:
    """The three rates (三率) of the newest year with figures, per township and district, against targets."""
    from cases.indicators import indicator_report

    return indicator_report(session, district).as_dict(district)


def bulletin_charts(data: dict[str, Any], scale: float = 1.0) -> dict[str, Any]:
    """Chart geometry for a bulletin's data (called by the renderer; nothing stored).

    `scale` sets the charts' heights, a share of their nominal ones (their width is the text
    area's; the renderer scales them within a bound to fill a page, see `cases.notices.spacing`).
    """

    def tall(nominal: float) -> float:
        return round(nominal * scale, 2)

    out: dict[str, Any] = {}
    groups = data.get("groups") or []
    totals = (data.get("totals") or {}).get("groups") or {}
    if groups:
        out["states"] = charts.column_chart([g["zh"] for g in groups], [totals.get(g["key"], 0) for g in groups],
                                            height=tall(200.0))
    towns = [t for t in data.get("townships") or [] if t.get("total")]
    if towns:
        operating = [t["total"] - t.get("reduced", 0) - t.get("groups", {}).get("filed", 0) for t in towns]
        out["townships"] = charts.stacked_bar_chart(
            [t["name"] for t in towns],
            [("已停办、取缔或转型", [t.get("reduced", 0) for t in towns]),
             ("已备案", [t.get("groups", {}).get("filed", 0) for t in towns]),
             ("办理中", operating)],
            row_height=tall(15.0), colors=("#2e7d32", "#4f81bd", "#f2b134"))
    levels = (data.get("overdue") or {}).get("by_level") or {}
    if levels:
        names = data.get("level_names") or {str(i): zh for i, zh in LEVEL_ZH.items()}
        out["overdue"] = charts.column_chart([names[str(i)] for i in range(4)],
                                             [levels.get(str(i), 0) for i in range(4)], height=tall(150.0),
                                             colors=("#7f7f7f", "#f2b134", "#e46c0a", "#c00000"))
    ind = data.get("indicators") or {}
    if ind.get("district"):
        rates = ind.get("rates") or []
        out["rates"] = charts.paired_column_chart(
            [r["zh"] for r in rates], [ind["district"][r["key"]] or 0.0 for r in rates],
            [r["target"] for r in rates], names=("全区实际", "规划目标"), unit="%", height=tall(180.0))
    return out


def bulletin_addressee(district: District) -> str:
    """各镇人民政府、街道办事处 as the district has them (石景山 has 街道 only), and the district's units."""
    towns = any(not t.name.endswith("街道") for t in district.townships)
    streets = any(t.name.endswith("街道") for t in district.townships)
    parts = (("各镇人民政府", towns), ("街道办事处" if towns else "各街道办事处", streets))
    bodies = "、".join(b for b, has in parts if has)
    return f"{bodies}，区有关单位"


def issue_bulletin(session: Session, district: District, period: str, *, today: date | None = None,
                   addressee: str | None = None, now: datetime | None = None) -> Notice:
    """The bulletin of `period` as a numbered Notice; the same figures give back the same notice.

    `now` is when the records are sealed for it (the clock's time unless given).
    """
    from cases.numbering import take_number

    as_of = today or local_today(district)
    per = period_of(period, as_of)
    data = bulletin_data(session, district, per, as_of=as_of)
    data["addressee"] = addressee or bulletin_addressee(district)
    data["issuer"] = district.district.bureau  # the bureau's 督查通报, numbered in its series
    figures = canonical_json({k: v for k, v in data.items() if k not in ("as_of",)})
    data["figures"] = hashlib.sha256(figures.encode()).hexdigest()[:16]
    kind = NoticeKind.BULLETIN.value
    existing = session.exec(
        select(Notice).where(Notice.kind == kind, Notice.district == district.district.code,
                             Notice.year == as_of.year).order_by(col(Notice.seq).desc())
    ).all()
    for notice in existing:
        nd = notice.data or {}
        if nd.get("figures") == data["figures"] and (nd.get("period") or {}).get("key") == per.key:
            _LOGGER.info("bulletin %s already issued with these figures", notice.number)
            return notice
    from cases import seal

    # the records this bulletin is drawn from, anchored: its fingerprint is printed
    sealed = seal.seal(session, now=now)
    if sealed is not None:
        data["seal"] = {"seq": sealed.seq, "fingerprint": sealed.fingerprint, "cases": sealed.cases,
                        "events": sealed.events, "sealed_at": sealed.sealed_at.isoformat()}
    taken = take_number(session, district, kind=kind, issuer_ref="bureau", year=as_of.year)
    number = taken.text
    data["number"] = number
    data["issued_on"] = as_of.isoformat()
    notice = Notice(number=number, district=district.district.code, kind=kind, series=taken.series, year=as_of.year,
                    seq=taken.seq, case_id=None, addressee=data["addressee"], issuer=data["issuer"], data=data,
                    issued_on=as_of)
    session.add(notice)
    session.flush()
    _LOGGER.info("issued bulletin %s for %s", number, per.key)
    return notice


def render_report(session: Session, district: District, period: str, out: Path | str, *,
                  today: date | None = None, key: str | bytes | None = None) -> tuple[Notice, Path]:
    """Issue (or find) the bulletin of `period` and render it to the file `out`; commits."""
    from cases.notices.render import render_notice_to

    notice = issue_bulletin(session, district, period, today=today)
    path = render_notice_to(session, notice, district, Path(out), key=key)
    return notice, path
