"""One vocabulary for results and severities: the district file's words, in the web and in the notices."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from cases.config import District, Vocabulary, load_district
from cases.errors import InvalidInput
from cases.models import Notice
from cases.notices import notice_html
from tests.conftest import Driver


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def test_both_seed_districts_declare_the_words() -> None:
    for name in ("wuqing.toml", "shijingshan.toml"):
        d = load_district(f"cases/districts/{name}")
        assert d.vocabulary.results == {"pass": "合格", "fail": "不合格", "major": "重大隐患", "na": "不适用"}
        assert d.vocabulary.severities == {"general": "一般", "serious": "较重", "major": "严重"}
        assert d.severity_zh("major") == "严重" and d.result_zh("major") == "重大隐患"


def test_a_severity_that_reads_like_a_major_hazard_is_refused() -> None:
    with pytest.raises(ValueError, match="reads like the major-hazard result"):
        Vocabulary(severities={"general": "一般", "serious": "较重", "major": "重大"})


def test_missing_or_repeated_words_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a word"):
        Vocabulary(results={"pass": "合格", "fail": "不合格", "major": "重大隐患"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must all differ"):
        Vocabulary(severities={"general": "一般", "serious": "一般", "major": "严重"})


def test_a_district_file_with_a_bad_word_does_not_load(tmp_path: object, district: District) -> None:
    from pathlib import Path

    src = Path("cases/districts/wuqing.toml").read_text(encoding="utf-8")
    bad = Path(str(tmp_path)) / "bad.toml"
    bad.write_text(src.replace('major = "严重"', 'major = "重大"'), encoding="utf-8")
    with pytest.raises(InvalidInput, match="reads like"):
        load_district(bad)


def test_notice_keeps_the_district_words_and_prints_them(driver: Driver, session: Session,
                                                         district: District) -> None:
    # F01 is a "major"-severity item: failed (not a hazard) it is 不合格 with 问题等级 严重, never 重大
    case = driver.open()
    driver.do(case, "start_review")
    res = driver.do(case, "order_rectification", failed=("F01", "P02"))
    notice = session.exec(select(Notice).where(Notice.number == res.notices[0].number)).one()
    items = {i["code"]: i for i in notice.data["items"]}
    assert items["F01"]["result_zh"] == "不合格" and items["F01"]["severity_zh"] == "严重"
    assert items["P02"]["severity_zh"] == "一般"
    text = _text(notice_html(notice, district))
    assert "不合格（问题等级：严重）" in text
    assert "不合格（问题等级：一般）" in text
    assert "，重大" not in text and "问题等级：重大" not in text


def test_a_major_hazard_uses_the_result_word(driver: Driver, session: Session, district: District) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    res = driver.do(case, "suspend", major=("F01",))
    notice = session.exec(select(Notice).where(Notice.number == res.notices[0].number)).one()
    text = _text(notice_html(notice, district))
    assert "重大隐患（问题等级：严重）" in text


def test_old_notices_without_words_fall_back_to_the_same_vocabulary(driver: Driver, session: Session,
                                                                   district: District) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    res = driver.do(case, "order_rectification", failed=("F01",))
    notice = session.exec(select(Notice).where(Notice.number == res.notices[0].number)).one()
    data = dict(notice.data)
    data["items"] = [{k: v for k, v in it.items() if k not in ("result_zh", "severity_zh", "severity_label")}
                     for it in data["items"]]
    notice.data = data
    text = _text(notice_html(notice, district))
    assert "不合格（问题等级：严重）" in text
