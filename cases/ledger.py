"""The 整治台账: every rectification case a user may see, one row a case, as an Excel workbook.

The first sheet holds the ledger with its header in row 1 (frozen, filtered, sized columns,
dates as real date cells); the second holds the title, the filters used, when it was made and
the totals by state and by township. It streams: openpyxl's write-only mode and three
queries in case order (cases with their point, township and latest inspection; notice numbers;
nothing per row), so 100,000 cases cost memory for one row at a time.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlmodel import Session

from cases.config import District
from cases.errors import InvalidInput, NotFound
from cases.models import Case, Inspection, Notice, Point, Township, User
from cases.queries import rectification_engine, sees_all

_LOGGER = logging.getLogger(__name__)

CASE = Case.__table__  # type: ignore[attr-defined]
POINT = Point.__table__  # type: ignore[attr-defined]
TOWNSHIP = Township.__table__  # type: ignore[attr-defined]
INSPECTION = Inspection.__table__  # type: ignore[attr-defined]
NOTICE = Notice.__table__  # type: ignore[attr-defined]

LEVEL_ZH = {0: "未督办", 1: "镇街督办", 2: "区教育局督办", 3: "挂牌督办"}
RESULT_ZH = {"filed": "予以备案", "converted": "转型", "closed": "停办", "banned": "取缔"}
SHEET = "整治台账"
SUMMARY_SHEET = "说明与汇总"

#: (header, width) of each column, in order.
COLUMNS: tuple[tuple[str, int], ...] = (
    ("案件编号", 9), ("托幼点", 26), ("镇街", 11), ("地址", 32), ("举办者", 11), ("电话", 15), ("首次登记", 11),
    ("状态", 13), ("轮次", 6), ("当前期限", 11), ("剩余工作日", 10), ("督办级别", 12), ("最近检查日期", 12),
    ("不合格项", 44), ("文书文号", 36), ("结果", 16),
)
DATE_COLUMNS = frozenset({"首次登记", "当前期限", "最近检查日期"})  # `date` values: openpyxl writes yyyy-mm-dd cells


@dataclass(frozen=True)
class LedgerFilter:
    """Which cases: the viewer's scope, narrowed by township code and state."""

    township: str | None = None
    state: str | None = None


def _latest_inspection() -> Any:
    return (sa.select(INSPECTION.c.case_id, sa.func.max(INSPECTION.c.id).label("insp_id"))
            .group_by(INSPECTION.c.case_id).subquery("latest"))


def _where(q: Any, user: User, flt: LedgerFilter, town_id: int | None) -> Any:
    q = q.where(CASE.c.workflow == "rectification")
    if not sees_all(user):
        q = q.where(CASE.c.township_id == (user.township_id or -1))
    if town_id is not None:
        q = q.where(CASE.c.township_id == town_id)
    if flt.state:
        q = q.where(CASE.c.state == flt.state)
    return q


def _check(session: Session, user: User, flt: LedgerFilter) -> int | None:
    """The filter's township id (refusing unknown codes and other townships), after checking the state."""
    eng = rectification_engine()
    if flt.state and flt.state not in {s.name for s in eng.spec.states}:
        raise InvalidInput(f"没有名为 {flt.state} 的状态", f"no state named {flt.state}",
                           allowed=[s.name for s in eng.spec.states])
    if not flt.township:
        return None
    row = session.connection().execute(sa.select(TOWNSHIP.c.id).where(TOWNSHIP.c.code == flt.township)).first()
    if row is None or not (sees_all(user) or row.id == user.township_id):
        raise NotFound(f"镇街 {flt.township} 不存在或不在您的辖区", f"township {flt.township} not found or not yours")
    return int(row.id)


def ledger_rows(session: Session, district: District, *, user: User, flt: LedgerFilter, today: date
                ) -> Iterator[list[Any]]:
    """The ledger's rows in case order, streamed: one list of cell values per case."""
    return _rows(session, district, user, flt, _check(session, user, flt), today)


def _rows(session: Session, district: District, user: User, flt: LedgerFilter, town_id: int | None, today: date
          ) -> Iterator[list[Any]]:
    eng = rectification_engine()
    cal = district.work_calendar()
    tz = ZoneInfo(district.district.timezone)
    latest = _latest_inspection()
    q = (sa.select(CASE.c.id, CASE.c.state, CASE.c.round, CASE.c.deadline, CASE.c.escalation_level, CASE.c.target,
                   POINT.c.name, POINT.c.address, POINT.c.operator, POINT.c.phone, POINT.c.registered_on,
                   TOWNSHIP.c.name.label("town"), INSPECTION.c.at.label("insp_at"), INSPECTION.c.results)
         .join(POINT, POINT.c.id == CASE.c.point_id)
         .join(TOWNSHIP, TOWNSHIP.c.id == CASE.c.township_id)
         .outerjoin(latest, latest.c.case_id == CASE.c.id)
         .outerjoin(INSPECTION, INSPECTION.c.id == latest.c.insp_id)
         .order_by(CASE.c.id))
    q = _where(q, user, flt, town_id)
    nq = _where(sa.select(NOTICE.c.case_id, NOTICE.c.number).join(CASE, CASE.c.id == NOTICE.c.case_id),
                user, flt, town_id).order_by(NOTICE.c.case_id, NOTICE.c.id)
    conn = session.connection()
    opts = {"stream_results": True, "yield_per": 2000}
    notices = iter(conn.execution_options(**opts).execute(nq))
    pending = next(notices, None)
    days_left: dict[date, int] = {}
    items = {c.code: c.title for c in district.checklist}
    terminal = {s.name for s in eng.spec.states if s.terminal}
    for r in conn.execution_options(**opts).execute(q):
        numbers: list[str] = []
        while pending is not None and pending.case_id <= r.id:
            if pending.case_id == r.id:
                numbers.append(pending.number)
            pending = next(notices, None)
        failed = ""
        if r.results:
            bad = sorted((code, res) for code, res in r.results.items() if res in ("fail", "major"))
            failed = "；".join(f"{code} {items.get(code, '')}" + (f"（{district.result_zh('major')}）"
                                                                  if res == "major" else "")
                              for code, res in bad)
        live = r.state not in terminal
        deadline = r.deadline if live else None
        left = None
        if deadline is not None:
            if deadline not in days_left:
                days_left[deadline] = cal.between(today, deadline)
            left = days_left[deadline]
        result = RESULT_ZH.get(r.state, "") if not live else ""
        if r.state == "converted" and r.target:
            result = f"转型为{r.target}"
        level = max(0, min(3, r.escalation_level or 0))
        yield [r.id, r.name, r.town, r.address, r.operator, r.phone or "", r.registered_on, eng.state_zh(r.state),
               r.round, deadline, left, LEVEL_ZH[level] if live else "", r.insp_at.astimezone(tz).date()
               if r.insp_at else None, failed, "、".join(numbers), result]


def write_ledger(session: Session, district: District, out: IO[bytes], *, user: User, flt: LedgerFilter,
                 today: date, now: datetime | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Write the ledger workbook to `out`; returns the number of cases in it."""
    town_id = _check(session, user, flt)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(SHEET)
    for j, (_header, width) in enumerate(COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A2"
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE6F0")
    header = []
    for title, _w in COLUMNS:
        cell = WriteOnlyCell(ws, value=title)
        cell.font, cell.fill = bold, fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
        header.append(cell)
    ws.append(header)
    states: Counter[str] = Counter()
    towns: Counter[str] = Counter()
    n = 0
    for values in _rows(session, district, user, flt, town_id, today):
        ws.append(values)  # date values become date cells formatted yyyy-mm-dd
        states[values[7]] += 1
        towns[values[2]] += 1
        n += 1
        if progress and n % 5000 == 0:
            progress(n)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{n + 1}"
    _summary(wb, district, user, flt, today, now, n, states, towns)
    wb.save(out)
    _LOGGER.info("ledger for %s: %d cases", user.name, n)
    return n


def _summary(wb: Workbook, district: District, user: User, flt: LedgerFilter, today: date, now: datetime | None,
             n: int, states: Counter[str], towns: Counter[str]) -> None:
    ws = wb.create_sheet(SUMMARY_SHEET)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 40
    bold = Font(bold=True, size=14)
    title = WriteOnlyCell(ws, value=f"{district.district.name}{district.district.campaign}整治台账")
    title.font = bold
    ws.append([title])
    eng = rectification_engine()
    tz = ZoneInfo(district.district.timezone)
    made = (now.astimezone(tz) if now else datetime.now(tz)).strftime("%Y-%m-%d %H:%M")
    ws.append(["统计日期", today.isoformat()])
    ws.append(["导出时间", made])
    ws.append(["导出人", user.display_name or user.name])
    ws.append(["范围", "全区" if sees_all(user) and not flt.township else (flt.township or "本镇街")])
    ws.append(["状态筛选", eng.state_zh(flt.state) if flt.state else "全部"])
    ws.append(["案件总数", n])
    ws.append(["剩余工作日", "距当前期限的工作日数，负数为已逾期的工作日数"])
    ws.append([])
    ws.append(["按状态", "案件数"])
    order = [s.zh for s in eng.spec.states]
    for zh in sorted(states, key=lambda z: order.index(z) if z in order else 99):
        ws.append([zh, states[zh]])
    ws.append([])
    ws.append(["按镇街", "案件数"])
    town_order = {t.name: i for i, t in enumerate(district.townships)}
    for name in sorted(towns, key=lambda t: town_order.get(t, 999)):
        ws.append([name, towns[name]])


def ledger_bytes(session: Session, district: District, *, user: User, flt: LedgerFilter, today: date) -> bytes:
    buf = io.BytesIO()
    write_ledger(session, district, buf, user=user, flt=flt, today=today)
    return buf.getvalue()


def ledger_filename(district: District, today: date, flt: LedgerFilter) -> str:
    parts = [district.district.short, "整治台账", today.strftime("%Y%m%d")]
    if flt.township:
        parts.insert(2, flt.township)
    return "-".join(parts) + ".xlsx"
