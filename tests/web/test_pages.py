"""The pages: worklist, queue, case page and its action forms, registry, inbox, dashboard, workflow."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from cases.models import Case, CaseEvent, Message, Notice
from tests.conftest import Driver, People


def _fail_all_but(driver: Driver, *codes: str) -> dict[str, str]:
    return {f"item_{c}": "fail" for c in codes}


def test_worklist_is_scoped_to_my_township(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    mine = driver.open(name="本镇托幼点")
    theirs = driver.open(name="外镇托幼点", town=people.other_town, actor=people.other_inspector)
    b = as_user(people.inspector)
    page = b.get("/worklist?tab=all").text
    assert "本镇托幼点" in page and f"/cases/{mine.id}" in page
    assert "外镇托幼点" not in page
    assert b.get(f"/cases/{theirs.id}").status_code == 404
    assert b.get(f"/cases/{mine.id}").status_code == 200
    # a reviewer sees the district and can filter by township
    r = as_user(people.reviewer).get(f"/worklist?tab=all&township={people.other_town.code}").text
    assert "外镇托幼点" in r and "本镇托幼点" not in r


def test_worklist_tabs_search_and_pages(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    for i in range(32):
        c = driver.open(name=f"分页托幼点{i:02d}")
        if i < 3:
            driver.do(c, "start_review")  # deadline runs: due within the review period
    b = as_user(people.inspector)
    todo = b.get("/worklist").text  # inspectors start on "waiting for me"
    assert 'aria-current="page">待我处理' in todo
    assert "共 32 条" in todo and "第 1 / 2 页" in todo
    assert "显示第 31–32 条" in b.get("/worklist?tab=all&page=2").text
    assert "共 1 条" in b.get("/worklist?tab=all&q=分页托幼点07").text
    assert "共 3 条" in b.get("/worklist?tab=all&state=under_review").text
    overdue = b.get("/worklist?tab=overdue").text
    assert "共 0 条" in overdue
    r = b.get("/worklist?tab=nonsense")
    assert r.status_code == 400 and "没有名为" in r.text


def test_case_page_shows_exactly_the_allowed_actions(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    insp = as_user(people.inspector).get(f"/cases/{case.id}").text
    triggers = set(re.findall(r'name="trigger" value="(\w+)"', insp))
    assert triggers == {"order_rectification", "suspend", "propose_filing", "propose_refusal",
                        "propose_conversion", "propose_closure"}
    assert "审查核查中" in insp and "剩 " in insp
    rev = as_user(people.reviewer).get(f"/cases/{case.id}").text
    assert 'name="trigger"' not in rev and "您当前没有可执行的操作" in rev
    # checklist only in inspection forms; major only for major-capable items
    form = insp.split('id="act-order_rectification"')[1].split("</details>")[0]
    assert 'value="fail"' in form
    assert 'name="expected_version"' in form
    conv = insp.split('id="act-propose_conversion"')[1].split("</details>")[0]
    assert 'name="target"' in conv and "item_" not in conv and "required" in conv


def test_major_only_for_major_capable_items(as_user, people: People, driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    page = as_user(people.inspector).get(f"/cases/{case.id}").text
    form = page.split('id="act-suspend"')[1].split("</details>")[0]
    for item in district.checklist:
        has_major = f'name="item_{item.code}" value="major"' in form
        assert has_major == item.major_capable, item.code


def test_inspect_and_order_rectification(as_user, people: People, driver: Driver, district, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    code = district.checklist[0].code
    b = as_user(people.inspector)
    r = b.post(f"/cases/{case.id}/do", {"trigger": "order_rectification", "expected_version": case.version,
                                         f"item_{code}": "fail", f"note_{code}": "灭火器过期", "reason": "现场检查"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/cases/{case.id}?done=order_rectification"
    page = b.get(r.headers["location"]).text
    assert "已执行「责令整改」" in page
    assert "整改中" in page and "第 1 轮" in page
    assert "整改通知书" in page and "下载 PDF" in page
    assert "灭火器过期" in page  # the last inspection's notes
    with Session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None and row.state == "rectifying"
        assert s.exec(select(Notice).where(Notice.case_id == case.id)).first() is not None


def test_refusals_are_explained_and_change_nothing(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    b = as_user(people.inspector)
    # a reason is required
    r = b.post(f"/cases/{case.id}/do", {"trigger": "propose_refusal", "expected_version": case.version})
    assert r.status_code == 403
    assert "须填写理由" in r.text
    # order_rectification with nothing failed
    r = b.post(f"/cases/{case.id}/do", {"trigger": "order_rectification", "expected_version": case.version})
    assert r.status_code == 403 and "至少有一项" in r.text
    assert 'name="trigger" value="order_rectification"' in r.text  # the page (and its forms) are still there
    # a stale version: someone else acted meanwhile
    driver.do(case, "propose_closure", actor=people.inspector2, reason="已停办")
    r = b.post(f"/cases/{case.id}/do", {"trigger": "propose_closure", "expected_version": case.version})
    assert r.status_code == 409
    assert "已被他人修改" in r.text and "刷新页面" in r.text
    with Session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None and row.state == "closure_proposed"


def test_reviewer_queue_and_approval(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    first = driver.open(name="先提议的托幼点")
    driver.do(first, "start_review")
    driver.do(first, "propose_filing")
    second = driver.open(name="后提议的托幼点")
    driver.do(second, "start_review")
    driver.do(second, "propose_closure", reason="已自行停办")
    b = as_user(people.reviewer)
    q = b.get("/queue").text
    assert q.index("先提议的托幼点") < q.index("后提议的托幼点")
    assert "审批期限" in q and "剩 5 个工作日" in q
    page = b.get(f"/cases/{first.id}").text
    assert set(re.findall(r'name="trigger" value="(\w+)"', page)) == {"approve", "send_back"}
    version = int(re.search(r'name="expected_version" value="(\d+)"', page).group(1))  # type: ignore[union-attr]
    r = b.post(f"/cases/{first.id}/do", {"trigger": "approve", "expected_version": version})
    assert r.status_code == 303
    assert "已备案" in b.get(f"/cases/{first.id}").text
    assert "先提议的托幼点" not in b.get("/queue").text
    # send_back needs a reason
    page = b.get(f"/cases/{second.id}").text
    version = int(re.search(r'name="expected_version" value="(\d+)"', page).group(1))  # type: ignore[union-attr]
    r = b.post(f"/cases/{second.id}/do", {"trigger": "send_back", "expected_version": version})
    assert r.status_code == 403 and "须填写理由" in r.text
    r = b.post(f"/cases/{second.id}/do", {"trigger": "send_back", "expected_version": version, "reason": "核实不足"})
    assert r.status_code == 303
    with Session(engine) as s:
        row = s.get(Case, second.id)
        assert row is not None and row.state == "under_review"


def test_inspector_cannot_approve(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    case = driver.do(case, "propose_filing").case
    r = as_user(people.inspector2).post(f"/cases/{case.id}/do", {"trigger": "approve",
                                                                 "expected_version": case.version})
    assert r.status_code == 403
    assert "区教育局审核员" in r.text


def test_point_registry_and_registration(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    driver.open(name="名册里的托幼点")
    b = as_user(people.inspector)
    assert "名册里的托幼点" in b.get("/points").text
    form = b.get("/points/new").text
    assert people.town.name in form and people.other_town.name not in form
    r = b.post("/points", {"name": "新登记托幼点", "township": people.town.code, "address": "某村2号",
                           "operator": "李四", "phone": "13800000000", "registered_on": "2023-01-05",
                           "source": "complaint"})
    assert r.status_code == 303
    page = b.get(r.headers["location"]).text
    assert "新登记托幼点" in page and "已登记" in page
    # another township is not the inspector's to register in
    r = b.post("/points", {"name": "越界", "township": people.other_town.code, "address": "x", "operator": "y"})
    assert r.status_code == 404
    # missing fields are explained on the form
    r = b.post("/points", {"name": "", "township": people.town.code, "address": "x", "operator": "y"})
    assert r.status_code == 400 and "名称不能为空" in r.text
    # the committee is read-only
    assert as_user(people.committee).get("/points/new").status_code == 403


def test_inbox_and_mark_read(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open(name="收件箱托幼点")
    driver.do(case, "start_review")
    driver.do(case, "propose_filing")
    b = as_user(people.reviewer)
    page = b.get("/inbox").text
    assert "收件箱托幼点" in page and 'class="count"' in page
    with Session(engine) as s:
        msg = s.exec(select(Message).where(Message.user_id == people.reviewer.id,
                                           Message.channel == "inbox")).first()
        assert msg is not None
    r = b.post(f"/inbox/{msg.id}/read")
    assert r.status_code == 303
    assert "标为已读" not in b.get("/inbox").text
    # someone else's message cannot be touched
    other = as_user(people.reviewer2)
    with Session(engine) as s:
        theirs = s.exec(select(Message).where(Message.user_id == people.reviewer2.id,
                                              Message.channel == "inbox")).first()
        assert theirs is not None and theirs.status != "read"
    b.post(f"/inbox/{theirs.id}/read")
    with Session(engine) as s:
        again = s.get(Message, theirs.id)
        assert again is not None and again.status != "read"
    assert other.post("/inbox/read-all").status_code == 303


def test_dashboard_and_workflow(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    for town, actor in ((people.town, people.inspector), (people.other_town, people.other_inspector)):
        c = driver.open(town=town, actor=actor)
        driver.do(c, "start_review", actor=actor)
    page = as_user(people.committee).get("/dashboard").text
    assert "全区总览" in page and "<svg" in page and people.other_town.name in page
    lead = as_user(people.lead).get("/dashboard").text
    assert "本镇街总览" in lead and people.other_town.name not in lead
    wf = as_user(people.committee).get("/workflow").text
    assert wf.count('class="node ') == 16 and "propose_filing" in wf


def test_text_is_escaped(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open(name='<script>alert("x")</script>托幼点')
    b = as_user(people.inspector)
    for url in ("/worklist?tab=all", f"/cases/{case.id}", "/points"):
        text = b.get(url).text
        assert '<script>alert("x")</script>' not in text, url
        assert "&lt;script&gt;" in text, url


def test_timeline_lists_every_event(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "propose_closure", reason="举办者已停办")
    page = as_user(people.inspector).get(f"/cases/{case.id}").text
    with Session(engine) as s:
        events = s.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert len(events) == 3
    for e in events:
        assert e.hash[:12] in page
    assert "举办者已停办" in page and "立案" in page
