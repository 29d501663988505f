"""Spreadsheets in and out: read one table from an .xlsx upload, write templates, check cells.

Reading goes through python-calamine (fast, no hand-written xlsx parsing); writing through
openpyxl. A table has its header in one row (the first row that carries the expected
headers, so a title row above it is tolerated) and one record a row below it. Problems are
collected per cell as `RowError`s (Excel row number, column, what is wrong, what is allowed,
in Chinese and English) so an import can list every bad row before writing anything.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import python_calamine
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from cases.errors import InvalidInput

_LOGGER = logging.getLogger(__name__)

HEADER_SEARCH_ROWS = 5  # a title or a note may sit above the header
MAX_ROWS = 100_000
HELP_SHEET = "填写说明"  # the templates' instructions sheet, never read as data
XLSX_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"  # the old .xls format


@dataclass(frozen=True)
class Column:
    """One column of an import table: its Chinese header, a key, and what it accepts."""

    header: str
    key: str
    en: str
    allowed_zh: str
    allowed_en: str
    required: bool = True
    width: int = 16
    example: Any = None


@dataclass(frozen=True)
class RowError:
    """One bad cell (or row): where it is and what is wrong, in both languages."""

    row: int  # the Excel row number, as the clerk sees it
    column: str  # the header, or "" for the whole row
    problem_zh: str
    problem_en: str
    allowed_zh: str = ""
    allowed_en: str = ""

    @property
    def zh(self) -> str:
        where = f"第{self.row}行" + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.problem_zh}" + (f"（应为：{self.allowed_zh}）" if self.allowed_zh else "")

    @property
    def en(self) -> str:
        where = f"row {self.row}" + (f" [{self.column}]" if self.column else "")
        return f"{where}: {self.problem_en}" + (f" (expected: {self.allowed_en})" if self.allowed_en else "")

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "problem": self.problem_zh, "problem_en": self.problem_en,
                "allowed": self.allowed_zh, "allowed_en": self.allowed_en, "message": self.zh,
                "message_en": self.en}


class CellError(ValueError):
    """A cell's value is not acceptable; the column's rule says what is."""

    def __init__(self, zh: str, en: str) -> None:
        super().__init__(f"{zh} / {en}")
        self.zh = zh
        self.en = en


class ImportRefused(InvalidInput):
    """Some rows are bad, so nothing was written; `errors` lists every bad cell."""

    def __init__(self, errors: list[RowError], *, total: int) -> None:
        rows = sorted({e.row for e in errors})
        super().__init__(
            f"{len(rows)} 行数据有误（共 {total} 行），未导入任何数据；"
            "请改正后重新导入，或选择只导入正确的行（--skip-invalid）",
            f"{len(rows)} of {total} rows are invalid; nothing was imported. Fix them and import again, "
            "or use --skip-invalid to import only the valid rows",
        )
        self.errors = errors
        self.total = total


@dataclass
class Table:
    """The records of one sheet: (Excel row number, {column key: raw cell value})."""

    sheet: str
    header_row: int
    records: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ignored_headers: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return iter(self.records)

    def __len__(self) -> int:
        return len(self.records)


# -- normalising cells ----------------------------------------------------------------------


def clean_text(value: Any) -> str:
    """A cell as text: full-width letters and digits made half-width, spaces trimmed and collapsed."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return re.sub(r"\s+", " ", text).strip()


def _header_key(value: Any) -> str:
    text = clean_text(value)
    text = re.sub(r"[\s*＊]", "", text)
    return re.sub(r"[（(](必填|选填|可选|required|optional)[)）]$", "", text)


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
EXCEL_EPOCH = date(1899, 12, 30)


def parse_date(value: Any) -> date:
    """A date cell, or text such as 2023-05-01, 2023/5/1, 2023.5.1, 2023年5月1日, 20230501 (full-width too)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = int(value)
        if number != value:
            raise CellError(f"不是日期：{value}", f"not a date: {value}")
        if 19000101 <= number <= 29991231:
            value = str(number)
        elif 1 <= number <= 80000:  # an Excel serial day number in a cell not formatted as a date
            return EXCEL_EPOCH + timedelta(days=number)
    text = clean_text(value)
    if not text:
        raise CellError("不能为空", "must not be empty")
    text = re.sub(r"\s", "", text)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise CellError(f"日期不存在：{text}", f"no such date: {text}") from None
    raise CellError(f"无法识别的日期：{text}", f"unrecognised date: {text}")


def parse_count(value: Any, *, limit: int = 10_000_000) -> int:
    """A whole, non-negative number (a count of children), from a number cell or text."""
    if isinstance(value, bool):
        raise CellError(f"不是整数：{value}", f"not a whole number: {value}")
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(f"须为整数：{value:g}", f"must be a whole number: {value:g}")
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = clean_text(value).replace(",", "").replace(" ", "")
        if not text:
            raise CellError("不能为空", "must not be empty")
        if re.fullmatch(r"-?\d+(\.0+)?", text) is None:
            kind = "须为整数" if re.fullmatch(r"-?\d*\.\d+", text) else "不是数字"
            raise CellError(f"{kind}：{text}", f"not a whole number: {text}")
        number = int(float(text))
    if number < 0:
        raise CellError(f"不能为负数：{number}", f"must not be negative: {number}")
    if number > limit:
        raise CellError(f"数值过大：{number}", f"too large: {number}")
    return number


# -- reading ---------------------------------------------------------------------------------


def _open(data: bytes | Path) -> python_calamine.CalamineWorkbook:
    raw = data.read_bytes() if isinstance(data, Path) else data
    if not raw:
        raise InvalidInput("文件为空", "the file is empty")
    if raw.startswith(OLE2_MAGIC):
        raise InvalidInput("这是旧版 Excel（.xls）文件，请在 Excel 中“另存为”.xlsx 格式后再导入",
                           "this is an old .xls file; save it as .xlsx and import again")
    if not raw.startswith(XLSX_MAGIC):
        raise InvalidInput("不是 Excel .xlsx 文件（如为 CSV 或 WPS 文件，请另存为 .xlsx）",
                           "not an .xlsx workbook (save CSV or WPS files as .xlsx)")
    try:
        return python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(raw))
    except Exception as exc:  # calamine raises its own error types for damaged zips and XML
        raise InvalidInput(f"无法读取 Excel 文件（文件已损坏或不是 .xlsx）：{exc}",
                           f"cannot read the workbook (damaged or not .xlsx): {exc}") from None


def read_table(data: bytes | Path, columns: Sequence[Column], *, what: str = "") -> Table:
    """The first sheet that carries the columns' headers, as records keyed by column key.

    Refuses with `InvalidInput` a file that is not an .xlsx, has no such sheet, lacks required
    headers, repeats a header, or has merged cells in its header row.
    """
    book = _open(data)
    expected = {_header_key(c.header): c for c in columns}
    required = [c.header for c in columns if c.required]
    best: tuple[int, str, list[str]] | None = None  # (found, sheet, missing) of the closest sheet
    for meta in book.sheets_metadata:
        if meta.typ != python_calamine.SheetTypeEnum.WorkSheet or meta.name == HELP_SHEET:
            continue
        sheet = book.get_sheet_by_name(meta.name)
        grid = sheet.to_python(skip_empty_area=False)
        for index, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
            keys = [_header_key(v) for v in row]
            found = [k for k in keys if k in expected]
            if not found:
                continue
            _no_merged_header(sheet, index)
            missing = [h for h in required if _header_key(h) not in keys]
            if best is None or len(found) > best[0]:
                best = (len(found), meta.name, missing)
            if missing:
                continue
            return _table(sheet, meta.name, grid, index, keys, expected, what)
    headers = "、".join(c.header for c in columns)
    if best is None:
        if all(not book.get_sheet_by_name(m.name).to_python() for m in book.sheets_metadata):
            raise InvalidInput("工作表为空，没有表头和数据", "the workbook is empty: no header and no data")
        raise InvalidInput(f"找不到表头：第一行应为 {headers}（可用 tuoyou import template 生成模板）",
                           f"no header row found: the first row must hold {headers} "
                           "(tuoyou import template writes one)")
    raise InvalidInput(f"工作表「{best[1]}」缺少列：{'、'.join(best[2])}（表头应为 {headers}）",
                       f"sheet {best[1]!r} lacks the columns {', '.join(best[2])} (headers: {headers})")


def _no_merged_header(sheet: Any, index: int) -> None:
    """A merged cell in the header row hides a column's header: refuse it by name."""
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        if r0 <= index <= r1:
            cells = f"{get_column_letter(c0 + 1)}{r0 + 1}:{get_column_letter(c1 + 1)}{r1 + 1}"
            raise InvalidInput(f"表头（第{index + 1}行）有合并单元格 {cells}，请取消合并，每列一个表头",
                               f"the header row {index + 1} has merged cells {cells}; unmerge them, "
                               "one header per column")


def _table(sheet: Any, name: str, grid: list[list[Any]], index: int, keys: list[str],
           expected: dict[str, Column], what: str) -> Table:
    header_row = index + 1
    seen: dict[str, int] = {}
    for j, k in enumerate(keys):
        if k in expected:
            if k in seen:
                raise InvalidInput(f"表头「{expected[k].header}」出现了两次（第{header_row}行）",
                                   f"the header {expected[k].header} appears twice (row {header_row})")
            seen[k] = j
    ignored = [clean_text(v) for j, v in enumerate(grid[index]) if clean_text(v) and j not in seen.values()]
    positions = [(expected[k].key, j) for k, j in seen.items()]
    table = Table(sheet=name, header_row=header_row, ignored_headers=ignored)
    for i in range(index + 1, len(grid)):
        row = grid[i]
        record = {key: (row[j] if j < len(row) else "") for key, j in positions}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in record.values()):
            continue
        table.records.append((i + 1, record))
        if len(table.records) > MAX_ROWS:
            raise InvalidInput(f"一次最多导入 {MAX_ROWS} 行，请分批导入", f"at most {MAX_ROWS} rows per import")
    if not table.records:
        raise InvalidInput(f"工作表「{name}」只有表头，没有{what or '数据'}行",
                           f"sheet {name!r} has a header but no rows")
    return table


# -- writing ---------------------------------------------------------------------------------

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE6F0")
REQUIRED_FILL = PatternFill("solid", fgColor="F4DCD6")


def write_template(columns: Sequence[Column], *, sheet: str, notes: Sequence[str] = ()) -> bytes:
    """An empty workbook with the columns' headers (required ones marked), one example in the notes."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    for j, col in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=j, value=col.header)
        cell.font = HEADER_FONT
        cell.fill = REQUIRED_FILL if col.required else HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
        cell.comment = Comment(f"{'必填' if col.required else '选填'}：{col.allowed_zh}", "tuoyou")
        ws.column_dimensions[get_column_letter(j)].width = col.width
    ws.freeze_panes = "A2"
    info = wb.create_sheet(HELP_SHEET)
    info.column_dimensions["A"].width = 18
    info.column_dimensions["B"].width = 16
    info.column_dimensions["C"].width = 70
    info.append(["列", "是否必填", "填写要求"])
    for cell in info[1]:
        cell.font = HEADER_FONT
    for col in columns:
        info.append([col.header, "必填" if col.required else "选填", col.allowed_zh])
    info.append([])
    for line in notes:
        info.append([line])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
