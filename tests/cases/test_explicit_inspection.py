"""An inspection given item by item (the web's checklist): nothing assumed, not-applicable kept, photos per item;
and guard messages that name flags only on the command line."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.context import fail
from cases.errors import InvalidInput, NotAllowed
from cases.models import CaseEvent, Inspection
from tests.conftest import Driver

PHOTO = "a" * 64


def _all(district, **results: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {i.code: results.get(i.code, "pass") for i in district.checklist}


def test_explicit_results_are_recorded_whole(driver: Driver, district, session: Session) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    failed, na = district.checklist[0].code, district.checklist[1].code
    res = driver.do(case, "order_rectification", results=_all(district, **{failed: "fail", na: "na"}),
                    item_evidence={failed: (PHOTO,)})
    assert res.case.state == "rectifying"
    insp = session.exec(select(Inspection).where(Inspection.case_id == case.id)).one()
    assert insp.results[failed] == "fail" and insp.results[na] == "na"
    assert insp.evidence == {failed: [PHOTO]}
    ev = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                              CaseEvent.trigger == "order_rectification")).one()
    assert ev.data["failed"] == [failed] and ev.data["not_applicable"] == [na]
    assert ev.data["item_evidence"] == {failed: [PHOTO]}


def test_an_unmarked_item_is_refused(driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    results = _all(district)
    missing = district.checklist[-1]
    del results[missing.code]
    with pytest.raises(InvalidInput, match="尚未标记") as err:
        driver.do(case, "propose_filing", results=results)
    assert missing.code in err.value.en
    with pytest.raises(InvalidInput, match="结果无效"):
        driver.do(case, "propose_filing", results=_all(district, **{missing.code: "maybe"}))
    with pytest.raises(InvalidInput):
        driver.do(case, "propose_filing", results=_all(district), failed=(missing.code,))


def test_not_applicable_items_do_not_block_filing(driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    res = driver.do(case, "propose_filing", results=_all(district, **{district.checklist[0].code: "na"}))
    assert res.case.state == "filing_proposed"


def test_guard_messages_plain_for_pages_with_flags_for_the_cli(driver: Driver, district, capsys) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    with pytest.raises(NotAllowed) as err:
        driver.do(case, "order_rectification", results=_all(district))
    assert err.value.zh == "须至少有一项检查不合格" and "--" not in err.value.zh
    assert err.value.cli_zh == "须至少有一项检查不合格（--fail 或 --major）"
    with pytest.raises(NotAllowed) as err:
        driver.do(case, "approve")
    assert "approve" not in err.value.zh and "批准" in err.value.zh
    assert err.value.allowed and "order_rectification" in err.value.allowed
    fail(err.value)
    stderr = capsys.readouterr().err
    assert "（approve）" in stderr  # the command line names the trigger id beside the Chinese
    assert "order_rectification 责令整改" in stderr
