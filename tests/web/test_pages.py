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


def _marks(district, **results: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every checklist item marked: `pass` unless named (code=result)."""
    return {f"item_{i.code}": results.get(i.code, "pass") for i in district.checklist}


def test_case_page_shows_exactly_the_allowed_actions(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    insp = as_user(people.inspector).get(f"/cases/{case.id}").text
    # the inspection comes first, on its own; the other actions beside it
    assert f'action="/cases/{case.id}/inspect"' in insp
    triggers = set(re.findall(r'name="trigger" value="(\w+)"', insp))
    assert triggers == {"propose_conversion", "propose_closure"}
    assert "审查核查中" in insp and "剩 " in insp
    rev = as_user(people.reviewer).get(f"/cases/{case.id}").text
    assert 'name="trigger"' not in rev and "您当前没有可执行的操作" in rev and "/inspect" not in rev
    conv = insp.split('id="act-propose_conversion"')[1].split("</details>")[0]
    assert 'name="target"' in conv and "item_" not in conv and "required" in conv


def test_checklist_starts_unmarked_with_not_applicable(as_user, people: People, driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    page = as_user(people.inspector).get(f"/cases/{case.id}").text
    form = page.split('id="inspection"')[1].split("</form>")[0]
    assert "checked" not in form  # nothing pre-selected
    assert "未标记的视为合格" not in page
    for item in district.checklist:
        for value in ("pass", "fail", "na"):
            assert f'name="item_{item.code}" value="{value}"' in form
        has_major = f'name="item_{item.code}" value="major"' in form
        assert has_major == item.major_capable, item.code
        assert f'name="files_{item.code}"' in form and f'name="note_{item.code}"' in form


def test_an_unmarked_item_is_refused_and_kept(as_user, people: People, driver: Driver, district, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    b = as_user(people.inspector)
    first, last = district.checklist[0], district.checklist[-1]
    marks = _marks(district, **{first.code: "fail"})
    del marks[f"item_{last.code}"]
    r = b.post(f"/cases/{case.id}/inspect", {**marks, f"note_{first.code}": "灭火器过期"})
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}#inspection"
    page = b.get(f"/cases/{case.id}").text
    assert "未标记" in page and last.title in page
    form = page.split('id="inspection"')[1].split("</form>")[0]
    assert f'name="item_{first.code}" value="fail" checked' in form  # what was typed is kept
    assert "灭火器过期" in form
    # acting without a recorded inspection is refused too
    r = b.post(f"/cases/{case.id}/do", {"trigger": "order_rectification", "expected_version": case.version})
    assert r.status_code == 303
    assert "请先完成现场检查" in b.get(f"/cases/{case.id}").text
    with Session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None and row.state == "under_review"


def test_inspect_then_choose_what_follows(as_user, people: People, driver: Driver, district, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    code = district.checklist[0].code
    na = district.checklist[1].code
    b = as_user(people.inspector)
    r = b.post(f"/cases/{case.id}/inspect", {**_marks(district, **{code: "fail", na: "na"}),
                                             f"note_{code}": "灭火器过期"})
    assert r.status_code == 303 and r.headers["location"].endswith("#outcome")
    page = b.get(r.headers["location"]).text
    assert "检查结果已保存" in page
    outcome = page.split('id="outcome"')[1]
    offered = set(re.findall(r'name="trigger" value="(\w+)"', outcome.split('id="actions"')[0]))
    assert offered == {"order_rectification", "propose_refusal"}  # not filing (an item failed), not suspend
    assert "不适用" in page
    r = b.post(f"/cases/{case.id}/do", {"trigger": "order_rectification", "expected_version": case.version,
                                         "reason": "现场检查"})
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/cases/{case.id}?done=order_rectification"
    page = b.get(r.headers["location"]).text
    assert "已执行「责令整改」" in page
    assert "整改中" in page and "第 1 轮" in page
    assert "整改通知书" in page and "下载 PDF" in page
    assert "灭火器过期" in page  # the last inspection's notes
    assert "最近一次检查" in page and "order_rectification" not in page.split('id="last-inspection"')[1][:400]
    with Session(engine) as s:
        row = s.get(Case, case.id)
        assert row is not None and row.state == "rectifying"
        assert s.exec(select(Notice).where(Notice.case_id == case.id)).first() is not None
        from cases.models import Inspection

        insp = s.exec(select(Inspection).where(Inspection.case_id == case.id)).one()
        assert insp.results[code] == "fail" and insp.results[na] == "na"
        assert set(insp.results) == {i.code for i in district.checklist}
    # the recorded inspection was used up: the next inspection starts unmarked again
    assert 'id="outcome"' not in page


def test_reinspection_passed_offers_filing(as_user, people: People, driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "order_rectification", failed=(district.checklist[0].code,))
    case = driver.do(case, "request_reinspection").case
    b = as_user(people.inspector)
    b.post(f"/cases/{case.id}/inspect", _marks(district))
    page = b.get(f"/cases/{case.id}").text
    outcome = page.split('id="outcome"')[1].split('id="actions"')[0]
    assert "复查合格，拟予备案" in outcome
    assert set(re.findall(r'name="trigger" value="(\w+)"', outcome)) == {"propose_filing", "propose_refusal"}
    # a major hazard offers the suspension
    major = next(i for i in district.checklist if i.major_capable)
    b.post(f"/cases/{case.id}/inspect", _marks(district, **{major.code: "major"}))
    outcome = b.get(f"/cases/{case.id}").text.split('id="outcome"')[1].split('id="actions"')[0]
    assert "suspend" in outcome and "propose_filing" not in outcome


def test_refusals_are_explained_and_change_nothing(as_user, people: People, driver: Driver, engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    b = as_user(people.inspector)
    # a reason is required: the answer is a redirect to the case page (a reload is never a 405)
    r = b.post(f"/cases/{case.id}/do", {"trigger": "propose_conversion", "expected_version": case.version,
                                         "target": "普惠园"})
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}#act-propose_conversion"
    page = b.get(f"/cases/{case.id}").text
    assert "须填写理由" in page
    assert 'value="普惠园"' in page  # what was typed is back in the form
    assert "当前可执行" in page and "propose" not in page.split('class="alert error"')[1].split("</div>")[0]
    # shown once: a reload shows the plain page
    assert "须填写理由" not in b.get(f"/cases/{case.id}").text
    # the form's address, reloaded or bookmarked, leads to the case page
    r = b.get(f"/cases/{case.id}/do")
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}"
    # a stale version: someone else acted meanwhile
    driver.do(case, "propose_closure", actor=people.inspector2, reason="已停办")
    r = b.post(f"/cases/{case.id}/do", {"trigger": "propose_closure", "expected_version": case.version,
                                         "reason": "我的说明"})
    assert r.status_code == 303
    page = b.get(f"/cases/{case.id}").text
    assert "已被他人修改" in page and "已保留" in page
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
    assert r.status_code == 303 and "须填写理由" in b.get(f"/cases/{second.id}").text
    r = b.post(f"/cases/{second.id}/do", {"trigger": "send_back", "expected_version": version, "reason": "核实不足"})
    assert r.status_code == 303
    with Session(engine) as s:
        row = s.get(Case, second.id)
        assert row is not None and row.state == "under_review"


def test_inspector_cannot_approve(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    case = driver.do(case, "propose_filing").case
    b = as_user(people.inspector2)
    r = b.post(f"/cases/{case.id}/do", {"trigger": "approve", "expected_version": case.version})
    assert r.status_code == 303
    page = b.get(f"/cases/{case.id}").text
    assert "区教育局审核员" in page and "不能执行「批准」" in page


def test_point_registry_and_registration(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    driver.open(name="名册里的托幼点")
    b = as_user(people.inspector)
    assert "名册里的托幼点" in b.get("/points").text
    form = b.get("/points/new").text
    assert people.town.name in form and people.other_town.name not in form
    fields = {"name": "新登记托幼点", "township": people.town.code, "address": "某村2号号院",
              "operator": "李四", "phone": "13800000000", "registered_on": "2023-01-05", "source": "complaint"}
    r = b.post("/points", fields)  # a date before the cut-off without its basis: back to the form, kept
    assert r.status_code == 303 and r.headers["location"] == "/points/new"
    page = b.get("/points/new").text
    assert "须注明登记依据" in page and 'value="新登记托幼点"' in page
    r = b.post("/points", {**fields, "registered_on": "20230105", "basis": "台账"})
    assert r.status_code == 303 and "YYYY-MM-DD" in b.get("/points/new").text
    r = b.post("/points", {**fields, "basis": "原备案台账第37号"})
    assert r.status_code == 303
    page = b.get(r.headers["location"]).text
    assert "新登记托幼点" in page and "已登记" in page
    # another township is not the inspector's to register in
    r = b.post("/points", {"name": "越界", "township": people.other_town.code, "address": "x", "operator": "y"})
    assert r.status_code == 303 and r.headers["location"] == "/points/new"
    assert "不在您的辖区" in b.get("/points/new").text
    # missing fields are explained on the form (at its own address: post/redirect/get)
    r = b.post("/points", {"name": "", "township": people.town.code, "address": "x", "operator": "y"})
    assert r.status_code == 303 and "名称不能为空" in b.get(r.headers["location"]).text
    # the committee is read-only
    assert as_user(people.committee).get("/points/new").status_code == 403


def test_point_form_refuses_a_duplicate_until_confirmed(as_user, people: People, driver: Driver,  # type: ignore[no-untyped-def]
                                                        engine) -> None:
    first = driver.open(name="阳光托幼点", address="梅厂镇福源道18号", phone="13800000001")
    b = as_user(people.inspector)
    fields = {"name": "阳光 托幼点", "township": people.town.code, "address": "梅厂镇福源道１８号",
              "operator": "王五", "source": "patrol"}
    r = b.post("/points", fields)
    assert r.status_code == 303 and r.headers["location"] == "/points/new"
    page = b.get("/points/new").text
    assert f"案件 #{first.id}" in page and f'href="/cases/{first.id}"' in page
    assert 'name="confirm_duplicate"' in page and "--force" not in page
    with Session(engine) as s:
        assert len(s.exec(select(Case)).all()) == 1  # nothing saved
    r = b.post("/points", {**fields, "confirm_duplicate": "yes"})
    assert r.status_code == 303
    new_id = int(r.headers["location"].split("/")[2].split("?")[0])
    with Session(engine) as s:
        opened = s.exec(select(CaseEvent).where(CaseEvent.case_id == new_id)).one()
        assert opened.data["duplicate_of"] == [first.id] and opened.data["forced"] is True
    assert f"案件 #{first.id}" in b.get(f"/cases/{new_id}").text
    assert f"案件 #{new_id}" in b.get(f"/cases/{first.id}").text
    # the point's file lists both cases; another township's inspector cannot open it
    page = b.get(f"/points/{first.point_id}").text
    assert f'href="/cases/{first.id}"' in page and f'href="/cases/{new_id}"' in page and "全部案件（2）" in page
    assert as_user(people.other_inspector).get(f"/points/{first.point_id}").status_code == 404


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
    assert wf.count('class="node ') == 16
    # Chinese only, and usable by touch: every state box links to its list of actions
    text = visible_text(wf)
    for trigger in ("propose_filing", "order_rectification", "send_back", "start_review"):
        assert trigger not in text, trigger
    assert "鼠标" not in text and "拟予备案" in text
    assert 'href="#st-under_review"' in wf and 'id="st-under_review"' in wf


def visible_text(html: str) -> str:
    """What a reader sees: the text outside tags (titles of SVG shapes included), without attributes."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_no_command_line_words_in_pages(as_user, people: People, driver: Driver, district) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    case = driver.do(case, "start_review").case
    b = as_user(people.inspector)
    # a guard refusal: plain Chinese, no flags; what is allowed named in Chinese
    b.post(f"/cases/{case.id}/inspect", {f"item_{i.code}": "pass" for i in district.checklist})
    b.post(f"/cases/{case.id}/do", {"trigger": "order_rectification", "expected_version": case.version})
    page = b.get(f"/cases/{case.id}").text
    alert = visible_text(page.split('class="alert error"')[1].split("</div>")[0])
    assert "须至少有一项检查不合格" in alert
    assert "--" not in alert and "order_rectification" not in alert and "propose_closure" not in alert
    assert "拟销案" in alert  # 当前可执行 in Chinese
    # the error page, too
    r = b.get("/worklist?state=nonsense")
    assert r.status_code == 400 and "under_review" not in visible_text(r.text) and "审查核查中" in r.text
    # a registration answers in Chinese ("open" is no word for a user)
    r = b.post("/points", {"name": "新点", "township": people.town.code, "address": "某村3号", "operator": "孙八"})
    shown = visible_text(b.get(r.headers["location"]).text)
    assert "已立案" in shown and "「open」" not in shown
    done = driver.do(case, "propose_closure", reason="已停办").case
    text = visible_text(as_user(people.inspector).get(f"/cases/{done.id}").text)
    for word in ("--fail", "--major", "propose_", "order_rectification", "start_review"):
        assert word not in text, word


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
