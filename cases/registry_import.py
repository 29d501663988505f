"""Registry import: a township's spreadsheet of points becomes points with open cases.

`check_registry` reads the workbook and checks every row first (each bad cell becomes a
`RowError`), and sorts the good rows into new points and likely duplicates (the
one-file-per-point rule: the same name and address, or the same operator with the same
non-empty phone, either already registered or earlier in the same file). `import_registry`
then refuses the whole file when any row is bad (unless `skip_invalid`), and opens a case for
each new point through the real service (`cases.service.open_case`), one transaction per
chunk. Duplicates are reported, never imported twice, so importing a file again adds nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from cases import validation
from cases.config import District
from cases.errors import InvalidInput, NotAllowed
from cases.indicators import TownRef, TownshipIndex
from cases.models import Point, User, utcnow
from cases.registry import contact_key, place_key
from cases.service import open_case
from cases.workbook import CellError, Column, ImportRefused, RowError, Table, clean_text, parse_date, read_table

_LOGGER = logging.getLogger(__name__)

POINT = Point.__table__  # type: ignore[attr-defined]
IMPORT_ROLES = ("inspector", "reviewer", "admin")
CHUNK = 500  # rows per transaction
PARALLEL = 4  # chunks opened at once on PostgreSQL (each on its own connection)
EARLIEST = date(1980, 1, 1)
BASIS = "托幼点登记名册（批量导入）"  # the registration basis of imported points

POINT_COLUMNS: tuple[Column, ...] = (
    Column("托幼点名称", "name", "point name", "托幼点名称，不超过 200 字", "the point's name, up to 200 characters",
           width=28, example="阳光托幼点"),
    Column("镇街", "township", "township", "本区镇街的编码或名称，如 120114101 或 梅厂镇",
           "a township code or name of this district", width=14, example="梅厂镇"),
    Column("地址", "address", "address", "详细地址，不超过 300 字", "the full address, up to 300 characters",
           width=36, example="梅厂镇某村 1 号"),
    Column("举办者", "operator", "operator", "举办者姓名或单位名称，不超过 100 字",
           "the operator's name, up to 100 characters", width=14, example="张三"),
    Column("联系电话", "phone", "phone", "可不填；手机或座机号码，如 13800138000、022-29341234",
           "optional; a mobile or landline number such as 13800138000 or 022-29341234",
           required=False, width=16, example="13800138000"),
    Column("首次登记日期", "registered_on", "first registered on",
           "日期，如 2023-05-01、2023/5/1 或 2023年5月1日，不晚于今天",
           "a date such as 2023-05-01, 2023/5/1 or 2023年5月1日, not after today", width=14,
           example="2023-05-01"),
)
_COL = {c.key: c for c in POINT_COLUMNS}
_LIMITS = {"name": 200, "address": 300, "operator": 100}
_PHONE = re.compile(r"^[0-9+\-()（） ]{7,40}$")


# -- one row -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointRow:
    """A checked row: the point as it will be registered."""

    row: int
    name: str
    township: TownRef
    address: str
    operator: str
    phone: str
    registered_on: date

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "name": self.name, "township": self.township.name,
                "township_code": self.township.code, "address": self.address, "operator": self.operator,
                "phone": self.phone, "registered_on": self.registered_on.isoformat()}


def _policy(key: str, text: str, *, required: bool) -> str:
    """The one input policy (`cases.validation`) on a cell, so the service accepts what the check let through."""
    try:
        return validation.clean_text(key, text, required=required)
    except InvalidInput as exc:
        raise CellError(exc.zh, exc.en) from None


def _text(key: str, value: Any) -> str:
    text = clean_text(value)
    if not text:
        raise CellError("不能为空", "must not be empty")
    if len(text) > _LIMITS[key]:
        raise CellError(f"过长（{len(text)} 字，最多 {_LIMITS[key]} 字）",
                        f"too long ({len(text)} characters, at most {_LIMITS[key]})")
    return _policy(key, text, required=True)


def _phone(value: Any) -> str:
    text = _policy("phone", clean_text(value), required=False)
    if not text:
        return ""
    if not _PHONE.match(text) or not 7 <= sum(ch.isdigit() for ch in text) <= 20:
        raise CellError(f"不是电话号码：{text}", f"not a phone number: {text}")
    return text


def _registered_on(value: Any, today: date) -> date:
    day = parse_date(value)
    if day > today:
        raise CellError(f"晚于今天：{day.isoformat()}", f"after today: {day.isoformat()}")
    if day < EARLIEST:
        raise CellError(f"早于 {EARLIEST.year} 年：{day.isoformat()}", f"before {EARLIEST.year}: {day.isoformat()}")
    return day


def check_row(row: int, raw: dict[str, Any], towns: TownshipIndex, actor: User, today: date
              ) -> PointRow | list[RowError]:
    """The row as a point to register, or every problem found in it."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    parsers: dict[str, Callable[[Any], Any]] = {
        "name": lambda v: _text("name", v), "township": towns.find, "address": lambda v: _text("address", v),
        "operator": lambda v: _text("operator", v), "phone": _phone,
        "registered_on": lambda v: _registered_on(v, today),
    }
    for key, parse in parsers.items():
        col = _COL[key]
        try:
            values[key] = parse(raw.get(key))
        except CellError as exc:
            errors.append(RowError(row, col.header, exc.zh, exc.en, col.allowed_zh, col.allowed_en))
    town = values.get("township")
    if town is not None and actor.role == "inspector" and actor.township_id != town.id:
        col = _COL["township"]
        errors.append(RowError(row, col.header, f"{town.name}不在您的辖区", f"{town.name} is not your township",
                               "您所在镇街", "your own township"))
    if errors:
        return errors
    return PointRow(row=row, **values)


# -- duplicates (the one-file-per-point rule) -----------------------------------------------------


@dataclass(frozen=True)
class Duplicate:
    """A row that is likely a point already registered (or an earlier row of the file)."""

    point: PointRow
    reason_zh: str
    reason_en: str
    point_id: int | None = None  # the registered point it repeats
    same_row: int | None = None  # or the earlier row of the file

    def as_dict(self) -> dict[str, Any]:
        return {**self.point.as_dict(), "reason": self.reason_zh, "reason_en": self.reason_en,
                "point_id": self.point_id, "same_row": self.same_row}


class DuplicateIndex:
    """Likely duplicates by (name, address) and (operator, phone), read once for the whole file."""

    def __init__(self, session: Session) -> None:
        self.by_place: dict[str, int] = {}
        self.by_operator: dict[str, int] = {}
        rows = session.connection().execute(
            sa.select(POINT.c.id, POINT.c.name, POINT.c.address, POINT.c.operator, POINT.c.phone))
        for r in rows:  # the same keys as the one-file-per-point check of `open_case` (cases.registry)
            self.by_place.setdefault(place_key(r.name, r.address), r.id)
            if contact_key(r.operator, r.phone or ""):
                self.by_operator.setdefault(contact_key(r.operator, r.phone or ""), r.id)
        self.rows_by_place: dict[str, int] = {}
        self.rows_by_operator: dict[str, int] = {}

    def check(self, p: PointRow) -> Duplicate | None:
        """Is the row a duplicate? If not, remember it so a later row repeating it is one."""
        place = place_key(p.name, p.address)
        operator = contact_key(p.operator, p.phone) or None
        if place in self.by_place:
            return Duplicate(p, "与已登记托幼点同名同址", "same name and address as a registered point",
                             point_id=self.by_place[place])
        if operator and operator in self.by_operator:
            return Duplicate(p, "与已登记托幼点的举办者和电话相同", "same operator and phone as a registered point",
                             point_id=self.by_operator[operator])
        if place in self.rows_by_place:
            return Duplicate(p, f"与第{self.rows_by_place[place]}行同名同址",
                             f"same name and address as row {self.rows_by_place[place]}",
                             same_row=self.rows_by_place[place])
        if operator and operator in self.rows_by_operator:
            return Duplicate(p, f"与第{self.rows_by_operator[operator]}行的举办者和电话相同",
                             f"same operator and phone as row {self.rows_by_operator[operator]}",
                             same_row=self.rows_by_operator[operator])
        self.rows_by_place[place] = p.row
        if operator:
            self.rows_by_operator[operator] = p.row
        return None


# -- the whole file ----------------------------------------------------------------------------


@dataclass
class RegistryCheck:
    """A checked file: rows to import, likely duplicates, and bad rows."""

    sheet: str
    total: int
    new: list[PointRow] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)

    @property
    def bad_rows(self) -> list[int]:
        return sorted({e.row for e in self.errors})

    def as_dict(self) -> dict[str, Any]:
        return {"sheet": self.sheet, "total": self.total, "new": len(self.new), "duplicates": len(self.duplicates),
                "invalid": len(self.bad_rows), "bad_rows": self.bad_rows,
                "errors": [e.as_dict() for e in self.errors],
                "duplicate_rows": [d.as_dict() for d in self.duplicates], "ignored_headers": self.ignored_headers}


def may_import(actor: User) -> None:
    if actor.role not in IMPORT_ROLES:
        raise NotAllowed("只有镇街检查员和区教育局可以导入托幼点名册",
                         f"role {actor.role} cannot import the registry (inspector, reviewer or admin)")


def check_registry(session: Session, data: bytes, *, actor: User, today: date) -> RegistryCheck:
    """Read the workbook and check every row, without writing anything."""
    may_import(actor)
    table: Table = read_table(data, POINT_COLUMNS, what="托幼点")
    towns = TownshipIndex.load(session)
    dups = DuplicateIndex(session)
    result = RegistryCheck(sheet=table.sheet, total=len(table), ignored_headers=table.ignored_headers)
    for row, raw in table:
        checked = check_row(row, raw, towns, actor, today)
        if isinstance(checked, list):
            result.errors.extend(checked)
            continue
        dup = dups.check(checked)
        if dup is not None:
            result.duplicates.append(dup)
        else:
            result.new.append(checked)
    return result


@dataclass
class RegistryImport:
    """What an import did."""

    check: RegistryCheck
    case_ids: list[int] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return len(self.case_ids)

    def as_dict(self) -> dict[str, Any]:
        c = self.check
        return {"imported": self.imported, "total": c.total, "duplicates": len(c.duplicates),
                "skipped": len(c.bad_rows), "skipped_rows": c.bad_rows, "errors": [e.as_dict() for e in c.errors],
                "duplicate_rows": [d.as_dict() for d in c.duplicates],
                "case_ids": self.case_ids[:1000], "first_case_id": self.case_ids[0] if self.case_ids else None,
                "last_case_id": self.case_ids[-1] if self.case_ids else None}


def import_registry(
    session: Session,
    district: District,
    data: bytes,
    *,
    actor: User,
    today: date,
    skip_invalid: bool = False,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
    chunk: int = CHUNK,
    source_name: str = "",
    workers: int | None = None,
) -> RegistryImport:
    """Check the file, then open a case for each new point (one transaction per `chunk` rows).

    With a bad row and no `skip_invalid`, raises `ImportRefused` and writes nothing.
    """
    check = check_registry(session, data, actor=actor, today=today)
    if check.errors and not skip_invalid:
        raise ImportRefused(check.errors, total=check.total)
    session.rollback()  # end the read transaction; each chunk is its own
    return open_points(session, district, check, actor=actor, now=now, progress=progress, chunk=chunk,
                       source_name=source_name, workers=workers)


def _open_batch(session: Session, district: District, actor: User, batch: Sequence[PointRow], now: datetime,
                source_name: str) -> list[int]:
    """Open one chunk's points through the service and commit them together (or none of them)."""
    ids: list[int] = []
    try:
        for p in batch:
            case = open_case(session=session, district=district, actor=actor, name=p.name,
                             township_code=p.township.code, address=p.address, operator=p.operator,
                             phone=p.phone, registered_on=p.registered_on, source="registry", now=now,
                             commit=False, basis=f"{BASIS}：{source_name or '名册'}第{p.row}行",
                             event_data={"basis": BASIS, "import_row": p.row,
                                         **({"import_file": source_name} if source_name else {})})
            ids.append(case.id)
        session.commit()
    except BaseException:
        session.rollback()
        _LOGGER.warning("registry import: the chunk of rows %d–%d was rolled back", batch[0].row, batch[-1].row)
        raise
    return ids


def _own_session(engine: Any, district: District, actor: User, batch: Sequence[PointRow], now: datetime,
                 source_name: str) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        return _open_batch(session, district, actor, batch, now, source_name)


def open_points(session: Session, district: District, check: RegistryCheck, *, actor: User,
                now: datetime | None = None, progress: Callable[[int, int], None] | None = None,
                chunk: int = CHUNK, source_name: str = "", workers: int | None = None) -> RegistryImport:
    """Open the checked file's new points, `chunk` per transaction, reporting progress.

    On PostgreSQL the chunks run on `workers` connections at once (each its own transaction; the
    rows were checked and told apart beforehand, so they never touch the same records); SQLite has
    one writer, so there they run one after another. A failed chunk is rolled back and stops the
    import; chunks already committed stay, and importing the file again finishes the rest.
    """
    result = RegistryImport(check=check)
    total = len(check.new)
    now = now or utcnow()
    batches = [check.new[i:i + chunk] for i in range(0, total, chunk)]
    engine = session.get_bind()
    if workers is None:
        workers = PARALLEL if engine.dialect.name == "postgresql" else 1
    done = 0
    if workers <= 1 or len(batches) <= 1:
        for batch in batches:
            result.case_ids.extend(_open_batch(session, district, actor, batch, now, source_name))
            done += len(batch)
            if progress:
                progress(done, total)
    else:
        columns = User.__table__.columns  # type: ignore[attr-defined]
        mine = User.model_construct(**{c.name: getattr(actor, c.name) for c in columns})  # a copy threads may read
        opened: dict[int, list[int]] = {}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="registry-import") as pool:
            futures = {pool.submit(_own_session, engine, district, mine, batch, now, source_name): i
                       for i, batch in enumerate(batches)}
            try:
                for fut in as_completed(futures):
                    i = futures[fut]
                    opened[i] = fut.result()
                    done += len(batches[i])
                    if progress:
                        progress(done, total)
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        result.case_ids = [cid for i in sorted(opened) for cid in opened[i]]
    _LOGGER.info("registry import by %s: %d opened, %d duplicates, %d invalid rows skipped", actor.name,
                 result.imported, len(check.duplicates), len(check.bad_rows))
    return result
