"""One file per point: duplicates refused unless forced, reappearing points flagged, dates with a basis."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from cases.config import District
from cases.errors import Conflict, InvalidInput
from cases.models import Case, CaseEvent, CaseLink, Point
from cases.queries import case_detail
from cases.registry import (
    DuplicateIndex,
    DuplicatePoint,
    contact_key,
    find_duplicates,
    links_of,
    normalise,
    parse_day,
    place_key,
    point_cases,
)
from tests.conftest import NOW, Driver, People


def _count(session: Session, model: type) -> int:
    return int(session.exec(select(sa.func.count()).select_from(model)).one())


def test_normalise_ignores_spaces_full_width_and_punctuation() -> None:
    assert normalise(" 阳光　托幼点（一部） ") == normalise("阳光托幼点(一部)")
    assert place_key("ＡＢＣ托幼点", "福源道１８号") == place_key("abc 托幼点", "福源道18号")
    assert contact_key("张三", "138-0000 0001") == contact_key("张 三", "１３８００００００01")
    assert contact_key("张三", "") == "" and contact_key("张三", "  ") == ""
    assert place_key("阳光托幼点", "福源道18号") != place_key("阳光托幼点", "福源道19号")


@pytest.mark.parametrize("text", ["20230105", "2023-1-5", "2023-W01-1", "2023-02-30", "", "2023-01-05x"])
def test_dates_are_parsed_strictly(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_day(text, "首次登记日期", "--registered-on")


def test_parse_day_accepts_the_one_format() -> None:
    assert parse_day(" 2023-01-05 ") == date(2023, 1, 5)


def test_same_name_and_address_is_refused_naming_the_case(driver: Driver, session: Session) -> None:
    first = driver.open(name="阳光托幼点", address="梅厂镇福源道18号")
    points = _count(session, Point)
    with pytest.raises(DuplicatePoint) as exc:
        driver.open(name="阳光 托幼点", address="梅厂镇福源道１８号", operator="另一人")
    assert f"案件 #{first.id}" in exc.value.zh and "名称和地址相同" in exc.value.zh
    assert "--force" in exc.value.en and "--force" not in exc.value.zh
    assert isinstance(exc.value, Conflict) and [m.case_id for m in exc.value.matches] == [first.id]
    assert _count(session, Point) == points and _count(session, Case) == 1  # nothing written


def test_same_operator_and_phone_is_refused(driver: Driver) -> None:
    first = driver.open(name="甲托幼点", address="一村1号", operator="李四", phone="13800000001")
    with pytest.raises(DuplicatePoint, match="举办者和联系电话相同") as exc:
        driver.open(name="乙托幼点", address="二村2号", operator="李 四", phone="138 0000 0001")
    assert exc.value.matches[0].case_id == first.id


def test_same_operator_without_phone_is_not_a_duplicate(driver: Driver) -> None:
    driver.open(name="甲托幼点", address="一村1号", operator="李四")
    driver.open(name="乙托幼点", address="二村2号", operator="李四")  # common names: phone must match too
    driver.open(name="丙托幼点", address="三村3号", operator="李四", phone="13800000002")
    driver.open(name="丁托幼点", address="四村4号", operator="李四", phone="13800000003")


def test_forced_duplicate_is_recorded_in_the_chain_and_linked(driver: Driver, session: Session) -> None:
    first = driver.open(name="阳光托幼点", address="福源道18号")
    second = driver.open(name="阳光托幼点", address="福源道18号", force=True)
    opened = session.exec(select(CaseEvent).where(CaseEvent.case_id == second.id)).one()
    assert opened.data["duplicate_of"] == [first.id] and opened.data["forced"] is True
    [link] = session.exec(select(CaseLink)).all()
    assert (link.case_id, link.other_case_id, link.kind, link.match) == (second.id, first.id, "duplicate", "place")
    assert [lk.other_case_id for lk in links_of(session, first.id or 0)] == [second.id]
    assert [lk.other_case_id for lk in links_of(session, second.id or 0)] == [first.id]
    assert not any(lk.flag for lk in links_of(session, first.id or 0))  # a duplicate is not 曾被取缔


def test_a_point_that_was_closed_or_banned_reappears_flagged_on_both(
        driver: Driver, session: Session, people: People, district: District) -> None:
    closed = driver.open(name="彩虹托幼点", address="南村5号", phone="13900000005")
    driver.do(closed, "propose_closure")
    driver.do(closed, "approve", actor=people.reviewer)
    banned = driver.open(name="星星托幼点", address="北村6号")
    session.connection().execute(sa.update(Case).where(col(Case.id) == banned.id).values(state="banned"))
    session.commit()
    # reappearing points are not refused: they are flagged
    again = driver.open(name="彩虹托幼点（新址）", address="东村7号", operator="张三", phone="139-0000-0005")
    back = driver.open(name="星星托幼点", address="北村6号")
    opened = session.exec(select(CaseEvent).where(CaseEvent.case_id == again.id)).one()
    assert opened.data["reappeared_of"] == [closed.id] and "forced" not in opened.data
    for old, new in ((closed, again), (banned, back)):
        [on_new] = links_of(session, new.id or 0)
        [on_old] = links_of(session, old.id or 0)
        assert on_new.flag == on_old.flag == "曾被取缔/停办"
        assert on_new.other_case_id == old.id and on_old.other_case_id == new.id and on_old.newer
    assert "曾停办" in links_of(session, again.id or 0)[0].zh
    assert "曾被取缔" in links_of(session, back.id or 0)[0].zh
    assert point_cases(session, back.point_id) == sorted([banned.id, back.id])  # type: ignore[type-var]
    detail = case_detail(session, user=people.reviewer, case_id=closed.id or 0, district=district)
    assert detail["links"][0]["case_id"] == again.id and "重新登记" in detail["links"][0]["zh"]
    # a live case and a banned one: the live one still refuses
    with pytest.raises(DuplicatePoint) as exc:
        driver.open(name="星星托幼点", address="北村6号")
    assert [m.case_id for m in exc.value.matches] == [back.id]


def test_a_date_on_or_before_the_cutoff_needs_its_basis(driver: Driver, session: Session,
                                                        district: District) -> None:
    cutoff = district.district.cutoff
    with pytest.raises(InvalidInput, match="须注明登记依据") as exc:
        driver.open(registered_on=cutoff, basis="")
    assert "--basis" in exc.value.en
    with pytest.raises(InvalidInput, match="须注明登记依据"):
        driver.open(registered_on=date(2023, 1, 1), basis="   ")
    assert _count(session, Case) == 0
    ok = driver.open(registered_on=date(2023, 1, 1), basis="原备案台账第37号")
    point = session.get(Point, ok.point_id)
    assert point is not None and point.basis == "原备案台账第37号"
    opened = session.exec(select(CaseEvent).where(CaseEvent.case_id == ok.id)).one()
    assert opened.data["basis"] == "原备案台账第37号"
    # after the cut-off, or no date at all (today), no basis is needed
    driver.open(registered_on=cutoff + timedelta(days=1), basis="")
    driver.open(registered_on=None, basis="")
    with pytest.raises(InvalidInput, match="不能晚于今天"):
        driver.open(registered_on=NOW.date() + timedelta(days=1), basis="x")


def test_the_reviewer_sees_the_basis_and_that_the_date_was_typed_in_later(
        driver: Driver, session: Session, people: People, district: District) -> None:
    case = driver.open(registered_on=date(2023, 1, 1), basis="原备案台账第37号")
    driver.do(case, "start_review")
    driver.do(case, "propose_filing")
    detail = case_detail(session, user=people.reviewer, case_id=case.id or 0, district=district)
    assert detail["point"]["basis"] == "原备案台账第37号"
    assert detail["point"]["entered_later"] is True and detail["point"]["entered_on"] == "2026-11-02"


def test_the_index_checks_many_rows_and_rows_of_the_same_file(driver: Driver, session: Session) -> None:
    first = driver.open(name="阳光托幼点", address="福源道18号", phone="13800000009")
    index = DuplicateIndex.load(session)
    assert [m.case_id for m in index.find(name="阳光托幼点", address="福源道 18 号", operator="x")] == [first.id]
    assert [m.match for m in index.find(name="别名", address="别处", operator="张三", phone="13800000009")] == [
        "contact"]
    assert index.find(name="新托幼点", address="新村1号", operator="王五") == []
    index.add(name="新托幼点", address="新村1号", operator="王五")  # an earlier row of the same file
    [row] = index.find(name="新托幼点", address="新村1号", operator="王五")
    assert row.case_id == 0 and row.name == "新托幼点"
    assert find_duplicates(session, name="新托幼点", address="新村1号", operator="王五") == []


def test_duplicate_check_runs_across_townships(driver: Driver, people: People) -> None:
    driver.open(name="跨镇托幼点", address="边界路1号", operator="赵六", phone="13700000001")
    with pytest.raises(DuplicatePoint):
        driver.open(name="另一个名字", address="别处", operator="赵六", phone="13700000001",
                    town=people.other_town, actor=people.other_inspector)


def test_registration_time_is_kept_in_the_district_timezone(driver: Driver, session: Session,
                                                            people: People, district: District) -> None:
    late = datetime(2026, 11, 2, 17, 0, tzinfo=NOW.tzinfo)  # 01:00 on 3 November in Beijing
    case = driver.open(now=late, registered_on=date(2023, 1, 1), basis="台账")
    detail = case_detail(session, user=people.reviewer, case_id=case.id or 0, district=district)
    assert detail["point"]["entered_on"] == "2026-11-03"
