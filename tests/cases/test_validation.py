"""The one input policy (`cases.validation`) and the service applying it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from cases.config import DEMO_DISTRICT, district_warnings, load_district
from cases.errors import InvalidInput, NotAllowed, NotFound
from cases.models import Case, CaseEvent, Point
from cases.queries import get_case
from cases.service import Action, load_case
from cases.validation import (
    MAX_ID,
    check_id,
    clean_notes,
    clean_text,
    for_terminal,
    has_visible,
    parse_date,
    parse_datetime,
    parse_id,
)
from tests.conftest import Driver, People, district_file

# -- the functions ---------------------------------------------------------------------------


def test_text_is_trimmed_and_kept_whole() -> None:
    assert clean_text("name", "  阳光托幼点 ") == "阳光托幼点"
    assert clean_text("reason", "第一行\r\n第二行\t（附表）") == "第一行\n第二行\t（附表）"
    assert clean_text("reason", "理" * 2000) == "理" * 2000


def test_text_over_its_limit_is_refused_never_cut() -> None:
    with pytest.raises(InvalidInput) as exc:
        clean_text("reason", "理" * 2503)
    assert "2503" in exc.value.zh and "2000" in exc.value.zh and "reason" in exc.value.en
    with pytest.raises(InvalidInput, match="131000"):
        clean_text("name", "园" * 131_000)


@pytest.mark.parametrize("bad", ["a\x00b", "a\x1b[31mb", "a\x07", "a\u202eb", "a\ud800b", "a\x85b"])
def test_control_characters_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="控制字符"):
        clean_text("name", bad)
    with pytest.raises(InvalidInput, match="控制字符"):
        clean_text("reason", bad)


def test_newlines_only_in_multiline_fields() -> None:
    with pytest.raises(InvalidInput):
        clean_text("name", "上\n下")
    assert clean_text("note", "上\n下") == "上\n下"


@pytest.mark.parametrize("blank", ["", "   ", "\u200b", "\u200b\u200c\u200d\ufeff", "\u3000\u00a0", "\u3164", "\u2060"])
def test_invisible_text_does_not_count(blank: str) -> None:
    assert not has_visible(blank)
    assert clean_text("reason", blank) == ""
    with pytest.raises(InvalidInput, match="不能为空"):
        clean_text("name", blank, required=True)


def test_strict_dates() -> None:
    assert parse_date("2026-01-01", "registered_on") == date(2026, 1, 1)
    assert parse_date("", "registered_on") is None
    for bad in ("20260101", "2026-1-1", "2026-02-30", "2026/01/01", "2026-01-01T00:00", "0001-01-01", "x\x00"):
        with pytest.raises(InvalidInput, match=r"YYYY-MM-DD|范围"):
            parse_date(bad, "registered_on")


def test_datetimes_never_overflow() -> None:
    assert parse_datetime("2026-10-12T09:00").isoformat() == "2026-10-12T01:00:00+00:00"
    for bad in ("0001-01-01", "0001-01-01T00:00", "9999-12-31T23:59", "next tuesday", "20261012"):
        with pytest.raises(InvalidInput):
            parse_datetime(bad)


def test_ids() -> None:
    assert parse_id("12") == 12 and parse_id(" #12 ") == 12
    for text in ("13812345678", str(MAX_ID + 1), "0", "-1", "+1", "1e3", "١٢", "", "#"):
        assert parse_id(text) is None, text
    assert parse_id(str(MAX_ID)) == MAX_ID
    with pytest.raises(NotFound, match="9999999999"):
        check_id(9_999_999_999, "case")


def test_notes_name_checklist_items() -> None:
    assert clean_notes({"F01": " 灭火器过期 ", "R01": "\u200b"}, ["F01", "R01"]) == {"F01": "灭火器过期"}
    with pytest.raises(InvalidInput, match="X99"):
        clean_notes({"X99": "?"}, ["F01"])
    with pytest.raises(InvalidInput, match="过长"):
        clean_notes({"F01": "x" * 501}, ["F01"])
    with pytest.raises(InvalidInput):
        clean_notes(["F01"], ["F01"])


def test_terminal_output_loses_control_sequences() -> None:
    shown = for_terminal("园\x1b[2J\x1b]8;;http://evil\x07点\x1b]8;;\x07\u202e\x9b31m\x00!")
    assert shown == "园点!"
    assert for_terminal("多行\n文本\t") == "多行\n文本\t"


# -- the service, both databases -------------------------------------------------------------


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.mark.parametrize("field,value,word", [
    ("name", "园" * 131_000, "过长"),
    ("name", "\u200b\u200b", "不能为空"),
    ("address", "某村\x001号", "控制字符"),
    ("operator", "张\x1b[31m三", "控制字符"),
    ("phone", "1" * 41, "过长"),
])
def test_open_case_refuses_bad_fields_and_writes_nothing(driver: Driver, session: Session, people: People,
                                                          field: str, value: str, word: str) -> None:
    from cases.service import open_case

    kw = {"name": "阳光托幼点", "address": "某村1号", "operator": "张三", "phone": ""}
    kw[field] = value
    with pytest.raises(InvalidInput, match=word):
        open_case(session=session, district=driver.district, actor=people.inspector,
                  township_code=people.town.code, registered_on=date(2022, 5, 1), **kw)
    assert _count(session, Point) == 0 and _count(session, Case) == 0


def test_open_case_refuses_dates_out_of_range(driver: Driver) -> None:
    with pytest.raises(InvalidInput, match="范围"):
        driver.open(registered_on=date(1, 1, 1))


def test_an_invisible_reason_is_no_reason(driver: Driver, session: Session) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    with pytest.raises(NotAllowed, match="理由"):
        driver.do(case, "propose_refusal", reason="\u200b \u3000", failed=("F01",))
    assert get_case(session, user=driver.people.reviewer, case_id=case.id).state == "under_review"


def test_a_long_reason_is_refused_not_cut(driver: Driver, session: Session) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    events = _count(session, CaseEvent)
    with pytest.raises(InvalidInput, match="2503"):
        driver.do(case, "propose_refusal", reason="理" * 2503, failed=("F01",))
    assert _count(session, CaseEvent) == events
    result = driver.do(case, "propose_refusal", reason="理" * 2000, failed=("F01",))
    assert result.event.reason == "理" * 2000


def test_notes_for_unknown_items_are_refused(driver: Driver) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    with pytest.raises(InvalidInput, match="ZZ"):
        driver.do(case, "order_rectification", failed=("F01",), notes={"ZZ": "?"})
    with pytest.raises(InvalidInput, match="控制字符"):
        driver.do(case, "order_rectification", failed=("F01",), notes={"F01": "\x00"})


@pytest.mark.parametrize("case_id", [0, -1, 2**31, 9_999_999_999, 2**62])
def test_ids_beyond_the_integer_range_are_not_found(driver: Driver, session: Session, people: People,
                                                     case_id: int) -> None:
    with pytest.raises(NotFound):
        get_case(session, user=people.reviewer, case_id=case_id)
    with pytest.raises(NotFound):
        load_case(session, user=people.reviewer, case_id=case_id)
    with pytest.raises(NotFound):
        driver.do(case_id, "start_review", actor=people.reviewer)
    assert isinstance(Action("x"), Action)


# -- the district file -----------------------------------------------------------------------


@pytest.mark.parametrize("old,new,key", [
    ('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"', "district.timezone"),
    ("reminders = [5, 3, 1]", "reminders = [-5, 0]", "ladder.reminders"),
    ("review = 10\n", "review = 100000000\n", "deadlines.review"),
    ("[rounds]\nmax = 2", "[rounds]\nmax = 0", "rounds.max"),
    ("cutoff = 2023-06-30", "cutoff = 0001-01-01", "district.cutoff"),
])
def test_bad_district_values_name_their_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        load_district(district_file(tmp_path, old, new))
    assert key in exc.value.zh and key in exc.value.en


def test_a_gbk_file_and_a_directory_are_clear_errors(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.toml"
    gbk.write_bytes(DEMO_DISTRICT.read_text(encoding="utf-8").encode("gbk", errors="replace"))
    with pytest.raises(InvalidInput, match="UTF-8"):
        load_district(gbk)
    with pytest.raises(InvalidInput, match="目录"):
        load_district(tmp_path)
    with pytest.raises(InvalidInput, match="找不到"):
        load_district(tmp_path / "missing.toml")


def test_cutoff_warnings() -> None:
    d = load_district(None)
    assert district_warnings(d, today=date(2026, 1, 1)) == []
    info = d.district
    future = d.model_copy(update={"district": info.model_copy(update={"cutoff": date(2027, 1, 1)})})
    assert any("晚于今天" in zh for zh, _ in district_warnings(future, today=date(2026, 1, 1)))
    early = d.model_copy(update={"district": info.model_copy(update={"cutoff": date(2020, 1, 1)})})
    assert any("campaign_start" in en for _, en in district_warnings(early, today=date(2026, 1, 1)))


def test_registry_import_rows_follow_the_same_policy(session: Session, people: People, driver: Driver) -> None:
    """A zero-width name is a row error listed with the others, not a failure halfway through the import."""
    from cases.registry_import import import_registry
    from cases.workbook import ImportRefused
    from tests.conftest import NOW
    from tests.workbooks import POINT_HEADERS, book

    data = book(POINT_HEADERS, [["\u200b\u200b", "梅厂镇", "前庄村1号", "张三", "", date(2022, 3, 1)],
                                ["好托幼点", "梅厂镇", "前庄村2号", "李四", "", date(2022, 3, 1)]])
    with pytest.raises(ImportRefused) as exc:
        import_registry(session, driver.district, data, actor=people.reviewer, today=date(2026, 11, 2), now=NOW)
    assert [(e.row, e.column) for e in exc.value.errors] == [(2, "托幼点名称")]
    assert "不能为空" in exc.value.errors[0].problem_zh
    assert _count(session, Point) == 0
