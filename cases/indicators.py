"""The plans' three rates (三率): townships' yearly figures in, rates against the district's targets out.

Definitions (seed 001 §五):

- 学前三年毛入园率 = 在园幼儿总数 ÷ 常住适龄幼儿数
- 普惠性幼儿园覆盖率 = (公办园 + 普惠性民办园在园幼儿数) ÷ 在园幼儿总数
- 公办园在园幼儿占比 = 公办园在园幼儿数 ÷ 在园幼儿总数

Figures come by township and year (`import_stats` from a workbook, `save_stat` from the
bureau's form), one row per township and year; a later figure for the same year replaces the
earlier one. Rates are percentages with one decimal (half up); a rate meets its target when
the one-decimal figure shown is at least the target. The district row sums the figures of the
townships that reported. `latest_public_share` gives the newest 公办园在园幼儿占比 of a township
(for the 小区配套园 workflow's 50% rule).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cases.config import District
from cases.errors import InvalidInput, NotAllowed
from cases.models import Township, TownshipStat, User, utcnow
from cases.workbook import CellError, Column, ImportRefused, RowError, Table, clean_text, parse_count, read_table

_LOGGER = logging.getLogger(__name__)

STAT = TownshipStat.__table__  # type: ignore[attr-defined]
TOWNSHIP = Township.__table__  # type: ignore[attr-defined]
STAT_ROLES = ("reviewer", "admin")  # the bureau keeps the figures
FIRST_YEAR = 2000
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "全区", "全区合计", "总数"})  # a sheet's own total row
COUNT_LIMIT = 10_000_000  # more children than any township has: a typo, and beyond 32-bit columns' reach

#: The three rates: key, 中文, English.
RATES: tuple[tuple[str, str, str], ...] = (
    ("gross_enrolment", "学前三年毛入园率", "gross enrolment rate"),
    ("inclusive_coverage", "普惠性幼儿园覆盖率", "inclusive kindergarten coverage"),
    ("public_share", "公办园在园幼儿占比", "share of children in public kindergartens"),
)
RATE_ZH = {k: zh for k, zh, _ in RATES}

STAT_COLUMNS: tuple[Column, ...] = (
    Column("镇街", "township", "township", "本区镇街的编码或名称，如 120114101 或 梅厂镇",
           "a township code or name of this district", width=14),
    Column("年份", "year", "year", f"四位年份，{FIRST_YEAR} 年至今年，如 2024", "a year such as 2024", width=8,
           example=2024),
    Column("常住适龄幼儿数", "population", "resident children of kindergarten age",
           "大于 0 的整数", "a whole number above 0", width=16, example=3200),
    Column("在园幼儿数", "enrolled", "children in kindergartens", "大于 0 的整数（所有幼儿园在园幼儿总数）",
           "a whole number above 0 (children in all kindergartens)", width=12, example=3010),
    Column("公办园在园幼儿数", "public", "children in public kindergartens",
           "0 或正整数，不大于在园幼儿数", "0 or more, not above the children in kindergartens", width=18,
           example=1600),
    Column("普惠性民办园在园幼儿数", "inclusive_private", "children in inclusive private kindergartens",
           "0 或正整数，与公办园在园幼儿数之和不大于在园幼儿数",
           "0 or more; with the public figure, not above the children in kindergartens", width=22, example=1050),
)
_COL = {c.key: c for c in STAT_COLUMNS}


# -- townships by code or name -----------------------------------------------------------------


@dataclass(frozen=True)
class TownRef:
    id: int
    code: str
    name: str


class TownshipIndex:
    """Finds a township by its code or its name (also without the 镇/街道 suffix), as clerks type them."""

    def __init__(self, towns: Sequence[TownRef]) -> None:
        self.towns = list(towns)
        self.by_id = {t.id: t for t in towns}
        self._keys: dict[str, TownRef | None] = {}
        for t in towns:
            self._keys[t.code] = t
        for t in towns:
            for key in {t.name, _short(t.name)}:
                self._keys[key] = None if key in self._keys and self._keys[key] is not t else t

    @classmethod
    def load(cls, session: Session) -> TownshipIndex:
        rows = session.connection().execute(sa.select(TOWNSHIP.c.id, TOWNSHIP.c.code, TOWNSHIP.c.name)
                                            .order_by(TOWNSHIP.c.code)).all()
        return cls([TownRef(r.id, r.code, r.name) for r in rows])

    def find(self, value: Any) -> TownRef:
        text = clean_text(value).replace(" ", "")
        if not text:
            raise CellError("不能为空", "must not be empty")
        hit = self._keys.get(text) or self._keys.get(_short(text))
        if hit is None:
            raise CellError(f"本区没有镇街「{text}」", f"no township {text!r} in this district")
        return hit


def _short(name: str) -> str:
    for suffix in ("街道办事处", "人民政府", "街道", "镇", "乡"):
        if name.endswith(suffix) and len(name) > len(suffix) + 1:
            return name[: -len(suffix)]
    return name


# -- checking figures --------------------------------------------------------------------------


@dataclass(frozen=True)
class StatFigures:
    """One township's checked figures for one year."""

    township: TownRef
    year: int
    population: int
    enrolled: int
    public: int
    inclusive_private: int

    def values(self) -> dict[str, int]:
        return {"population": self.population, "enrolled": self.enrolled, "public": self.public,
                "inclusive_private": self.inclusive_private}


def _year(value: Any, today: date) -> int:
    try:
        year = parse_count(value, limit=9999)
    except CellError as exc:
        raise CellError(f"年份有误：{exc.zh}", f"bad year: {exc.en}") from None
    if not FIRST_YEAR <= year <= today.year:
        raise CellError(f"年份须在 {FIRST_YEAR} 至 {today.year} 之间：{year}",
                        f"the year must be between {FIRST_YEAR} and {today.year}: {year}")
    return year


def check_figures(row: int, raw: dict[str, Any], towns: TownshipIndex, today: date) -> StatFigures | list[RowError]:
    """The row's figures, or every problem found in it (each cell, then how the figures relate)."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    for key, parse in (("township", towns.find), ("year", lambda v: _year(v, today)),
                       ("population", lambda v: parse_count(v, limit=COUNT_LIMIT)),
                       ("enrolled", lambda v: parse_count(v, limit=COUNT_LIMIT)),
                       ("public", lambda v: parse_count(v, limit=COUNT_LIMIT)),
                       ("inclusive_private", lambda v: parse_count(v, limit=COUNT_LIMIT))):
        col = _COL[key]
        try:
            values[key] = parse(raw.get(key))
        except CellError as exc:
            errors.append(RowError(row, col.header, exc.zh, exc.en, col.allowed_zh, col.allowed_en))
    if errors:
        return errors

    def bad(key: str, zh: str, en: str) -> None:
        col = _COL[key]
        errors.append(RowError(row, col.header, zh, en, col.allowed_zh, col.allowed_en))

    pop, enrolled, public, private = (values[k] for k in ("population", "enrolled", "public", "inclusive_private"))
    if pop <= 0:
        bad("population", "常住适龄幼儿数须大于 0", "resident children must be above 0")
    if enrolled <= 0:
        bad("enrolled", "在园幼儿数须大于 0", "children in kindergartens must be above 0")
    if public > enrolled:
        bad("public", f"公办园在园幼儿数 {public} 大于在园幼儿数 {enrolled}",
            f"public {public} is above the children in kindergartens {enrolled}")
    if private > enrolled:
        bad("inclusive_private", f"普惠性民办园在园幼儿数 {private} 大于在园幼儿数 {enrolled}",
            f"inclusive private {private} is above the children in kindergartens {enrolled}")
    elif public <= enrolled and public + private > enrolled:
        bad("inclusive_private", f"公办园与普惠性民办园在园幼儿数之和 {public + private} 大于在园幼儿数 {enrolled}",
            f"public + inclusive private {public + private} is above the children in kindergartens {enrolled}")
    if errors:
        return errors
    return StatFigures(township=values["township"], year=values["year"], population=pop, enrolled=enrolled,
                       public=public, inclusive_private=private)


def _may_keep_figures(actor: User) -> None:
    if actor.role not in STAT_ROLES:
        raise NotAllowed("只有区教育局（审核员、管理员）可以报送三率基础数据",
                         f"role {actor.role} cannot enter the figures (reviewer or admin only)")


# -- saving ------------------------------------------------------------------------------------


@dataclass
class StatImport:
    """What an import or a form did: rows added, replaced, unchanged; rows refused (with --skip-invalid)."""

    total: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[RowError] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    total_rows: list[int] = field(default_factory=list)  # 合计/全区 rows, left out

    def as_dict(self) -> dict[str, Any]:
        return {"total": self.total, "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "total_rows": self.total_rows,
                "skipped_rows": sorted({e.row for e in self.skipped}),
                "skipped": [e.as_dict() for e in self.skipped], "years": self.years}


def _upsert(session: Session, figures: Sequence[StatFigures], actor: User, source: str, now: datetime,
            result: StatImport) -> None:
    conn = session.connection()
    keys = {(f.township.id, f.year) for f in figures}
    existing: dict[tuple[int, int], Any] = {}
    for year in {y for _, y in keys}:
        for r in conn.execute(sa.select(STAT).where(STAT.c.year == year)).mappings():
            existing[(r["township_id"], r["year"])] = r
    for f in figures:
        old = existing.get((f.township.id, f.year))
        values = f.values()
        if old is None:
            conn.execute(STAT.insert(), {"township_id": f.township.id, "year": f.year, **values, "source": source,
                                         "updated_by": actor.id, "updated_at": now})
            result.added += 1
        elif any(old[k] != v for k, v in values.items()):
            conn.execute(STAT.update().where(STAT.c.id == old["id"]),
                         {**values, "source": source, "updated_by": actor.id, "updated_at": now})
            result.updated += 1
        else:
            result.unchanged += 1
    result.years = sorted({f.year for f in figures})


def check_table(session: Session, table: Table, *, today: date
                ) -> tuple[list[StatFigures], list[RowError], list[int]]:
    """Every row checked: the good figures, every problem (a township and year twice is a problem too),
    and the total rows (合计, 全区 …) left out, since the district's figures are the townships' sum."""
    towns = TownshipIndex.load(session)
    good: list[StatFigures] = []
    errors: list[RowError] = []
    totals: list[int] = []
    first_row: dict[tuple[int, int], int] = {}
    for row, raw in table:
        if clean_text(raw.get("township")).replace(" ", "") in TOTAL_WORDS:
            totals.append(row)
            continue
        checked = check_figures(row, raw, towns, today)
        if isinstance(checked, list):
            errors.extend(checked)
            continue
        key = (checked.township.id, checked.year)
        if key in first_row:
            name = checked.township.name
            errors.append(RowError(row, "镇街", f"{name} {checked.year} 年的数据与第{first_row[key]}行重复",
                                   f"{name} {checked.year} repeats row {first_row[key]}",
                                   "每个镇街每年一行", "one row per township and year"))
            continue
        first_row[key] = row
        good.append(checked)
    return good, errors, totals


def import_stats(session: Session, data: bytes, *, actor: User, today: date, skip_invalid: bool = False,
                 now: datetime | None = None) -> StatImport:
    """Import a workbook of figures: all or nothing, unless `skip_invalid` (then the bad rows are reported)."""
    _may_keep_figures(actor)
    table = read_table(data, STAT_COLUMNS, what="数据")
    good, errors, totals = check_table(session, table, today=today)
    result = StatImport(total=len(table), total_rows=totals)
    if errors and not skip_invalid:
        raise ImportRefused(errors, total=len(table))
    result.skipped = errors
    try:
        _upsert(session, good, actor, "import", now or utcnow(), result)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    _LOGGER.info("stats import by %s: %d added, %d updated, %d unchanged, %d skipped", actor.name, result.added,
                 result.updated, result.unchanged, len(errors))
    return result


def save_stat(session: Session, *, actor: User, fields: dict[str, Any], today: date,
              now: datetime | None = None) -> StatImport:
    """Save one township's figures for one year from the bureau's form (same checks as the import)."""
    _may_keep_figures(actor)
    checked = check_figures(0, fields, TownshipIndex.load(session), today)
    if isinstance(checked, list):
        first = checked[0]
        err = InvalidInput("；".join(f"「{e.column}」{e.problem_zh}" for e in checked),
                           "; ".join(f"[{e.column}] {e.problem_en}" for e in checked))
        err.errors = checked  # type: ignore[attr-defined]
        _LOGGER.debug("form refused: %s", first.en)
        raise err
    result = StatImport(total=1)
    try:
        _upsert(session, [checked], actor, "form", now or utcnow(), result)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


# -- rates -------------------------------------------------------------------------------------


def percent(part: int, whole: int) -> float | None:
    """part ÷ whole as a percentage with one decimal (half up); None when the whole is 0."""
    if whole <= 0:
        return None
    return float((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Rates:
    """The three rates of one township (or the district) in one year, with the figures behind them."""

    code: str
    name: str
    year: int
    population: int
    enrolled: int
    public: int
    inclusive_private: int

    @property
    def gross_enrolment(self) -> float | None:
        return percent(self.enrolled, self.population)

    @property
    def inclusive_coverage(self) -> float | None:
        return percent(self.public + self.inclusive_private, self.enrolled)

    @property
    def public_share(self) -> float | None:
        return percent(self.public, self.enrolled)

    def meets(self, district: District) -> dict[str, bool | None]:
        """Per rate: at or above the district's target (None without a target)."""
        targets = district.indicators
        out: dict[str, bool | None] = {}
        for key, _zh, _en in RATES:
            value = getattr(self, key)
            target = getattr(targets, key) if targets else None
            out[key] = None if target is None or value is None else value >= target
        return out

    def as_dict(self, district: District) -> dict[str, Any]:
        meets = self.meets(district)
        return {"code": self.code, "name": self.name, "year": self.year, "population": self.population,
                "enrolled": self.enrolled, "public": self.public, "inclusive_private": self.inclusive_private,
                **{key: getattr(self, key) for key, _zh, _en in RATES},
                "meets": meets, "all_met": all(meets.values()) if all(m is not None for m in meets.values()) else None}


@dataclass
class IndicatorReport:
    """The rates of every township that reported for `year`, the district total, and who did not report."""

    year: int | None
    years: list[int]
    townships: list[Rates]
    district: Rates | None
    missing: list[str]

    def as_dict(self, district: District) -> dict[str, Any]:
        t = district.indicators
        return {
            "year": self.year,
            "years": self.years,
            "rates": [{"key": k, "zh": zh, "en": en, "target": getattr(t, k) if t else None} for k, zh, en in RATES],
            "targets": ({"gross_enrolment": t.gross_enrolment, "inclusive_coverage": t.inclusive_coverage,
                         "public_share": t.public_share, "target_year": t.target_year, "plan": t.plan}
                        if t else None),
            "district": self.district.as_dict(district) if self.district else None,
            "townships": [r.as_dict(district) for r in self.townships],
            "missing": self.missing,
            "below": {k: [r.name for r in self.townships if r.meets(district)[k] is False] for k, _zh, _en in RATES},
            "district_missed": ([zh for k, zh, _en in RATES if self.district.meets(district)[k] is False]
                                if self.district else []),
        }


def stat_years(session: Session) -> list[int]:
    return [r[0] for r in session.connection().execute(
        sa.select(STAT.c.year).distinct().order_by(STAT.c.year.desc())).all()]


def indicator_report(session: Session, district: District, *, year: int | None = None,
                     township_ids: Sequence[int] | None = None) -> IndicatorReport:
    """The three rates for `year` (default: the newest year with figures), townships in config order."""
    years = stat_years(session)
    if year is None:
        year = years[0] if years else None
    elif year not in years:
        raise InvalidInput(f"没有 {year} 年的三率基础数据（已有：{'、'.join(map(str, years)) or '无'}）",
                           f"no figures for {year} (years with figures: {', '.join(map(str, years)) or 'none'})")
    towns = TownshipIndex.load(session)
    order = {t.code: i for i, t in enumerate(district.townships)}
    rows: list[Rates] = []
    if year is not None:
        q = sa.select(STAT).where(STAT.c.year == year)
        if township_ids is not None:
            q = q.where(STAT.c.township_id.in_(list(township_ids)))
        for r in session.connection().execute(q).mappings():
            t = towns.by_id[r["township_id"]]
            rows.append(Rates(t.code, t.name, year, r["population"], r["enrolled"], r["public"],
                              r["inclusive_private"]))
    rows.sort(key=lambda r: (order.get(r.code, 10_000), r.code))
    reported = {r.code for r in rows}
    scope = [t for t in towns.towns if township_ids is None or t.id in township_ids]
    missing = [t.name for t in sorted(scope, key=lambda t: (order.get(t.code, 10_000), t.code))
               if t.code not in reported]
    total = None
    if rows and year is not None:
        total = Rates(district.district.code, district.district.name, year,
                      sum(r.population for r in rows), sum(r.enrolled for r in rows), sum(r.public for r in rows),
                      sum(r.inclusive_private for r in rows))
    return IndicatorReport(year=year, years=years, townships=rows, district=total, missing=missing)


# -- for the 小区配套园 workflow -----------------------------------------------------------------


@dataclass(frozen=True)
class PublicShare:
    """A township's newest 公办园在园幼儿占比: the year, the counts, and the share as a fraction and a percent."""

    township_code: str
    township_name: str
    year: int
    public: int
    enrolled: int

    @property
    def share(self) -> float:
        return self.public / self.enrolled

    @property
    def percent(self) -> float:
        return percent(self.public, self.enrolled) or 0.0


def latest_public_share(session: Session, township_code: str) -> PublicShare | None:
    """The township's 公办园在园幼儿占比 from its newest year of figures; None when it has none."""
    row = session.connection().execute(
        sa.select(STAT.c.year, STAT.c.public, STAT.c.enrolled, TOWNSHIP.c.code, TOWNSHIP.c.name)
        .join(TOWNSHIP, TOWNSHIP.c.id == STAT.c.township_id)
        .where(TOWNSHIP.c.code == township_code, STAT.c.enrolled > 0)
        .order_by(STAT.c.year.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return PublicShare(row.code, row.name, row.year, row.public, row.enrolled)


def require_public_share(session: Session, township_code: str) -> PublicShare:
    """As `latest_public_share`, but a township without figures is a clear error asking for them."""
    share = latest_public_share(session, township_code)
    if share is None:
        raise InvalidInput(
            f"镇街 {township_code} 尚无公办园在园幼儿占比数据：请区教育局先报送该镇街的在园幼儿数"
            "（tuoyou import stats，或网页“三率数据”表单）",
            f"township {township_code} has no figures for the share of children in public kindergartens; "
            "the bureau must enter them first (tuoyou import stats, or the web form)")
    return share
