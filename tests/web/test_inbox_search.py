"""The inbox (kinds, opening a case reads its messages) and search (#N, ids, phone numbers, several words)."""

from __future__ import annotations

from sqlmodel import Session, select

from app.web.views import search_terms
from cases.models import Message
from cases.service import open_case
from tests.conftest import NOW, Driver, People


def test_search_terms() -> None:
    assert search_terms("#73") == ([], 73)
    assert search_terms("＃73") == ([], 73)
    assert search_terms("73") == (["73"], 73)  # the case, or a point with 73 in its address
    assert search_terms("13812345678") == (["13812345678"], None)  # a phone number is never an id
    assert search_terms("99999999999999999999") == (["99999999999999999999"], None)
    assert search_terms("阳光  某村") == (["阳光", "某村"], None)
    assert search_terms("#") == ([], None)


def test_search_finds_ids_phones_and_several_words(as_user, people: People, driver: Driver, session: Session,  # type: ignore[no-untyped-def]
                                                   district) -> None:
    first = driver.open(name="阳光托幼点")
    other = open_case(session=session, district=district, actor=people.inspector, name="彩虹托幼点",
                      township_code=people.town.code, address="幸福村12号", operator="周九", phone="13812345678",
                      now=NOW)
    b = as_user(people.inspector)
    for q, expect, not_expect in ((f"#{first.id}", "阳光托幼点", "彩虹托幼点"),
                                  ("13812345678", "彩虹托幼点", "阳光托幼点"),
                                  ("彩虹 幸福村", "彩虹托幼点", "阳光托幼点"),
                                  ("周九", "彩虹托幼点", "阳光托幼点")):
        for url in (f"/worklist?tab=all&q={q.replace('#', '%23')}", f"/points?q={q.replace('#', '%23')}"):
            r = b.get(url)
            assert r.status_code == 200, (url, r.text[:300])
            assert expect in r.text and not_expect not in r.text, url
    assert "共 0 条" in b.get("/worklist?tab=all&q=彩虹 阳光").text  # all words must match
    # a reviewer searching the district by a long number: no overflow, no error
    assert as_user(people.reviewer).get("/worklist?tab=all&q=99999999999999999999").status_code == 200
    assert str(other.id)


def test_opening_a_case_reads_its_messages_and_kinds_filter(as_user, people: People, driver: Driver,  # type: ignore[no-untyped-def]
                                                            engine) -> None:
    one = driver.open(name="消息甲托幼点")
    driver.do(one, "start_review")
    driver.do(one, "propose_closure", reason="已停办")
    two = driver.open(name="消息乙托幼点")
    driver.do(two, "start_review")
    driver.do(two, "propose_closure", reason="已停办")
    b = as_user(people.reviewer)
    page = b.get("/inbox?kind=case").text
    assert "消息甲托幼点" in page and "消息乙托幼点" in page and "办理通知" in page
    assert "消息甲托幼点" not in b.get("/inbox?kind=remind").text
    assert b.get("/inbox?kind=nonsense").status_code == 400
    b.get(f"/cases/{one.id}")
    with Session(engine) as s:
        rows = s.exec(select(Message).where(Message.user_id == people.reviewer.id, Message.channel == "inbox")).all()
        read = {m.case_id: m.status == "read" for m in rows}
    assert read == {one.id: True, two.id: False}
    unread = b.get("/inbox?unread=true").text
    assert "消息乙托幼点" in unread and "消息甲托幼点" not in unread
