"""Real .xlsx workbooks for the import tests, written with openpyxl."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook

POINT_HEADERS = ("托幼点名称", "镇街", "地址", "举办者", "联系电话", "首次登记日期")
STAT_HEADERS = ("镇街", "年份", "常住适龄幼儿数", "在园幼儿数", "公办园在园幼儿数", "普惠性民办园在园幼儿数")


def book(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None,
         merge: str | None = None, sheet: str = "Sheet1", number_formats: dict[str, str] | None = None) -> bytes:
    """A workbook whose first sheet has an optional title row, the headers, then the rows."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    if title is not None:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    if merge:
        ws.merge_cells(merge)
    for cell, fmt in (number_formats or {}).items():
        ws[cell].number_format = fmt
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
