"""Reading import workbooks: malformed files, merged or missing headers, and the date and number cells clerks type."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from cases.errors import InvalidInput
from cases.indicators import STAT_COLUMNS
from cases.registry_import import POINT_COLUMNS
from cases.workbook import CellError, parse_count, parse_date, read_table, write_template
from tests.workbooks import POINT_HEADERS, book

ROW = ["阳光托幼点", "梅厂镇", "梅厂镇前庄村 1 号", "张三", "13800138000", "2023-05-01"]


def test_reads_records_with_excel_row_numbers_below_a_title_row() -> None:
    data = book(POINT_HEADERS, [ROW, [None] * 6, ROW], title="武清区民办托幼点名册（2023年）", merge="A1:F1")
    table = read_table(data, POINT_COLUMNS)
    assert table.header_row == 2
    assert [r for r, _ in table] == [3, 5]  # the blank row 4 is skipped, numbers stay Excel's
    assert table.records[0][1]["name"] == "阳光托幼点"


def test_headers_in_any_order_with_required_marks_and_extra_columns() -> None:
    headers = ["备注", "首次登记日期", "联系电话", "举办者*", "地址（必填）", "镇 街", "托幼点名称"]
    data = book(headers, [["x", "2023-05-01", "", "张三", "某村", "梅厂镇", "甲托幼点"]])
    table = read_table(data, POINT_COLUMNS)
    rec = table.records[0][1]
    assert (rec["name"], rec["township"], rec["operator"]) == ("甲托幼点", "梅厂镇", "张三")
    assert table.ignored_headers == ["备注"]


@pytest.mark.parametrize(("data", "words"), [
    (b"", "文件为空"),
    ("托幼点名称,镇街\n甲,梅厂镇\n".encode(), "不是 Excel .xlsx 文件"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "旧版 Excel（.xls）"),
    (b"PK\x03\x04" + b"garbage" * 20, "无法读取 Excel 文件"),
])
def test_malformed_files_are_clear_errors(data: bytes, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        read_table(data, POINT_COLUMNS)


def test_a_zip_that_is_not_a_workbook() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "not a workbook")
    with pytest.raises(InvalidInput, match="无法读取 Excel 文件"):
        read_table(buf.getvalue(), POINT_COLUMNS)


def test_merged_header_cells_are_refused() -> None:
    data = book(POINT_HEADERS, [ROW], merge="E1:F1")
    with pytest.raises(InvalidInput) as exc:
        read_table(data, POINT_COLUMNS)
    assert "合并单元格 E1:F1" in exc.value.zh and "merged cells E1:F1" in exc.value.en


def test_missing_and_repeated_headers() -> None:
    with pytest.raises(InvalidInput) as exc:
        read_table(book(["托幼点名称", "镇街", "地址", "电话"], [["甲", "梅厂镇", "某村", "1"]]), POINT_COLUMNS)
    assert "缺少列：举办者、首次登记日期" in exc.value.zh
    with pytest.raises(InvalidInput, match="出现了两次"):
        read_table(book([*POINT_HEADERS, "地址"], [[*ROW, "x"]]), POINT_COLUMNS)
    with pytest.raises(InvalidInput, match="找不到表头"):
        read_table(book(["姓名", "年龄"], [["甲", 3]]), POINT_COLUMNS)


def test_empty_sheet_and_header_only() -> None:
    wb = Workbook()
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(InvalidInput, match="工作表为空"):
        read_table(buf.getvalue(), POINT_COLUMNS)
    with pytest.raises(InvalidInput, match="只有表头"):
        read_table(book(POINT_HEADERS, []), POINT_COLUMNS)


def test_the_data_sheet_need_not_be_the_first() -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.append(["说明：本表由镇街填报"])
    data_ws = wb.create_sheet("名册")
    data_ws.append(list(POINT_HEADERS))
    data_ws.append(ROW)
    buf = io.BytesIO()
    wb.save(buf)
    assert read_table(buf.getvalue(), POINT_COLUMNS).sheet == "名册"


@pytest.mark.parametrize(("value", "expected"), [
    (date(2023, 5, 1), date(2023, 5, 1)),
    (datetime(2023, 5, 1, 0, 0), date(2023, 5, 1)),
    ("2023-05-01", date(2023, 5, 1)),
    ("2023/5/1", date(2023, 5, 1)),
    ("2023.5.1", date(2023, 5, 1)),
    ("2023年5月1日", date(2023, 5, 1)),
    ("2023年05月01", date(2023, 5, 1)),
    ("２０２３年５月１日", date(2023, 5, 1)),
    ("２０２３－０５－０１", date(2023, 5, 1)),
    (" 2023 / 5 / 1 ", date(2023, 5, 1)),
    ("20230501", date(2023, 5, 1)),
    (20230501, date(2023, 5, 1)),
    (45047, date(2023, 5, 1)),  # an Excel serial day in a cell not formatted as a date
])
def test_dates_as_clerks_type_them(value: object, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(("value", "words"), [
    ("2023-02-30", "日期不存在"), ("去年五月", "无法识别"), ("", "不能为空"), (None, "不能为空"), (45047.5, "不是日期"),
])
def test_bad_dates(value: object, words: str) -> None:
    with pytest.raises(CellError, match=words):
        parse_date(value)


def test_counts() -> None:
    assert parse_count("１，２００") == 1200
    assert parse_count(" 35 ") == 35
    assert parse_count(12.0) == 12
    for bad, words in ((True, "不是整数"), ("12.5", "须为整数"), (-1, "负数"), ("十二", "不是数字")):
        with pytest.raises(CellError, match=words):
            parse_count(bad)


@pytest.mark.parametrize("columns", [POINT_COLUMNS, STAT_COLUMNS])
def test_templates_have_the_headers_frozen_and_instructions(columns: tuple) -> None:  # type: ignore[type-arg]
    data = write_template(columns, sheet="名册", notes=["每行一条"])
    wb = load_workbook(io.BytesIO(data))
    ws = wb["名册"]
    assert [c.value for c in ws[1]] == [c.header for c in columns]
    assert ws.freeze_panes == "A2" and ws.max_row == 1
    assert wb.sheetnames == ["名册", "填写说明"]
    with pytest.raises(InvalidInput, match="只有表头"):  # the empty template reads as headers without rows
        read_table(data, columns)
