"""The campaign pages: registry upload with preview and confirm, templates, the ledger download's scoping,
and the three rates with the bureau's form and upload, on the dashboard too."""

from __future__ import annotations

import io
import re
from pathlib import Path

from openpyxl import load_workbook
from sqlmodel import Session, select

from cases.models import Case, Point, TownshipStat
from tests.conftest import Driver, People
from tests.workbooks import POINT_HEADERS, STAT_HEADERS, book

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TOKEN_RE = re.compile(r'name="token" value="([0-9a-f]{64})"')


def upload(b, url: str, data: bytes, name: str = "名册.xlsx"):  # type: ignore[no-untyped-def]
    return b.client.post(url, data={"csrf_token": b.csrf}, files={"file": (name, data, XLSX)})


def rows_of(data: bytes) -> list[tuple[object, ...]]:
    return list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(min_row=2, values_only=True))


def test_upload_preview_then_confirm(as_user, people: People, session: Session, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    b = as_user(people.reviewer)
    assert "检查并预览" in b.get("/import/points").text
    data = book(POINT_HEADERS, [
        ["甲托幼点", "梅厂镇", "一号路", "张三", "13800138000", "2023/5/1"],
        ["乙托幼点", "大碱厂镇", "二号路", "李四", "", "２０２３年５月１日"],
        ["丙托幼点", "火星镇", "三号路", "王五", "", "2023-05-01"],
    ])
    preview = upload(b, "/import/points", data)
    assert preview.status_code == 200
    page = preview.text
    assert "可导入 <strong>2</strong> 行" in page and "有误 <strong class=\"late\">1</strong> 行" in page
    assert "第4行" in page and "本区没有镇街「火星镇」" in page and "尚未写入任何数据" in page
    assert session.exec(select(Case)).all() == []  # the preview writes nothing
    token = TOKEN_RE.search(page)
    assert token and 'name="skip_invalid" value="1"' in page
    # without skipping, the bad row refuses the whole file
    refused = b.post("/import/points/confirm", {"token": token[1]})
    assert refused.status_code == 400 and "第4行" in refused.text and session.exec(select(Case)).all() == []
    # another user cannot confirm this upload
    other = as_user(people.reviewer2)
    assert other.post("/import/points/confirm", {"token": token[1], "skip_invalid": "1"}).status_code == 404
    done = b.post("/import/points/confirm", {"token": token[1], "skip_invalid": "1"})
    assert done.status_code == 303 and "imported=2" in done.headers["location"]
    assert "已导入 2 个托幼点并立案" in b.get(done.headers["location"]).text
    assert len(session.exec(select(Case)).all()) == 2
    assert not list((data_dir / "imports").glob("*.xlsx"))  # the waiting file is gone
    # the same file again: everything is a duplicate, nothing can be imported
    again = upload(b, "/import/points", data).text
    assert "疑似重复 <strong>2</strong> 行" in again and "与已登记托幼点同名同址" in again
    assert "没有可导入的新托幼点" in again and not TOKEN_RE.search(again)


def test_upload_errors_and_roles(as_user, people: People) -> None:  # type: ignore[no-untyped-def]
    b = as_user(people.reviewer)
    bad = upload(b, "/import/points", b"name,township\n", "名册.csv")
    assert bad.status_code == 400 and "不是 Excel .xlsx 文件" in bad.text
    merged = upload(b, "/import/points", book(POINT_HEADERS, [["甲", "梅厂镇", "路", "张", "", "2023-05-01"]],
                                               merge="C1:D1"))
    assert merged.status_code == 400 and "合并单元格 C1:D1" in merged.text
    missing = b.client.post("/import/points", data={"csrf_token": b.csrf})
    assert missing.status_code == 400 and "请选择要上传的 Excel 文件" in missing.text
    assert b.post("/import/points/confirm", {"token": "../../etc/passwd"}).status_code == 404
    no_csrf = b.client.post("/import/points", files={"file": ("a.xlsx", b"x", XLSX)})
    assert no_csrf.status_code in (400, 403)
    for who in (people.lead, people.committee):
        assert as_user(who).get("/import/points").status_code == 403
    insp = as_user(people.inspector)
    page = upload(insp, "/import/points", book(POINT_HEADERS, [["甲", "大碱厂镇", "路", "张", "", "2023-05-01"]])).text
    assert "大碱厂镇不在您的辖区" in page


def test_templates_download(as_user, people: People) -> None:  # type: ignore[no-untyped-def]
    b = as_user(people.inspector)
    r = b.get("/import/template/points.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    ws = load_workbook(io.BytesIO(r.content)).worksheets[0]
    assert tuple(c.value for c in ws[1]) == POINT_HEADERS
    r = b.get("/import/template/stats.xlsx")
    assert tuple(c.value for c in load_workbook(io.BytesIO(r.content)).worksheets[0][1]) == STAT_HEADERS
    assert b.get("/import/template/other.xlsx").status_code == 404


def test_ledger_download_is_scoped(as_user, client, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    mine = driver.open(name="本镇托幼点")
    theirs = driver.open(name="外镇托幼点", town=people.other_town, actor=people.other_inspector)
    insp = as_user(people.inspector)
    r = insp.get("/ledger.xlsx")
    assert r.status_code == 200 and r.headers["content-type"] == XLSX
    assert "attachment" in r.headers["content-disposition"] and "%E6%95%B4%E6%B2%BB%E5%8F%B0%E8%B4%A6" in (
        r.headers["content-disposition"])  # 整治台账 in the file name
    assert [row[0] for row in rows_of(r.content)] == [mine.id]
    assert insp.get(f"/ledger.xlsx?township={people.other_town.code}").status_code == 404
    assert [row[0] for row in rows_of(as_user(people.lead).get("/ledger.xlsx").content)] == [mine.id]
    com = as_user(people.committee)
    assert sorted(row[0] for row in rows_of(com.get("/ledger.xlsx").content)) == sorted([mine.id, theirs.id])
    only = com.get(f"/ledger.xlsx?township={people.other_town.code}&state=registered").content
    assert [row[0] for row in rows_of(only)] == [theirs.id]
    assert com.get("/ledger.xlsx?state=nope").status_code == 400
    assert "/ledger.xlsx?township=&amp;state=" in insp.get("/worklist?tab=all").text
    assert "/ledger.xlsx" in com.get("/dashboard").text
    anonymous = client.get("/ledger.xlsx")
    assert anonymous.status_code in (303, 401) and anonymous.headers.get("content-type") != XLSX


def test_rates_form_upload_and_dashboard(as_user, people: People, session: Session) -> None:  # type: ignore[no-untyped-def]
    rev = as_user(people.reviewer)
    assert "尚无各镇街的在园幼儿数据" in rev.get("/dashboard").text
    form = {"township": people.town.code, "year": "2024", "population": "1000", "enrolled": "950",
            "public": "960", "inclusive_private": "0"}
    bad = rev.post("/indicators", form)
    assert bad.status_code == 400 and "公办园在园幼儿数 960 大于在园幼儿数 950" in bad.text
    assert 'value="960"' in bad.text  # what was typed comes back
    ok = rev.post("/indicators", {**form, "public": "520", "inclusive_private": "350"})
    assert ok.status_code == 303 and "saved=added" in ok.headers["location"]
    upload_bad = upload(rev, "/indicators/import", book(STAT_HEADERS, [["大碱厂镇", 2024, 800, 0, 0, 0]]))
    assert upload_bad.status_code == 400 and "第2行" in upload_bad.text and "在园幼儿数须大于 0" in upload_bad.text
    done = upload(rev, "/indicators/import", book(STAT_HEADERS, [["大碱厂镇", 2024, 800, 700, 300, 200]]))
    assert done.status_code == 303 and "added=1" in done.headers["location"]
    assert len(session.exec(select(TownshipStat)).all()) == 2
    page = rev.get("/indicators?year=2024").text
    assert "95.0%" in page and "54.7%" in page and "87.5%" in page and "目标 93%" in page
    dash = rev.get("/dashboard").text
    assert "学前教育“三率”（2024 年）" in dash and "普惠性幼儿园覆盖率" in dash and "全区" in dash
    # township roles see their own township's rates, and cannot enter figures
    insp = as_user(people.inspector)
    mine = insp.get("/indicators").text
    assert "95.0%" in mine and "87.5%" not in mine and 'action="/indicators"' not in mine
    assert insp.post("/indicators", form).status_code == 403
    assert upload(insp, "/indicators/import", book(STAT_HEADERS, [["梅厂镇", 2024, 1, 1, 0, 0]])).status_code == 403
    assert session.exec(select(Point)).all() == []


def test_unconfirmed_uploads_are_dropped_after_a_day(as_user, people: People, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    import os

    b = as_user(people.reviewer)
    row = ["甲托幼点", "梅厂镇", "一号路", "张三", "", "2023-05-01"]
    first = TOKEN_RE.search(upload(b, "/import/points", book(POINT_HEADERS, [row])).text)
    assert first
    waiting = data_dir / "imports" / f"{people.reviewer.id}-{first[1]}.xlsx"
    assert waiting.exists()
    os.utime(waiting, (0, 0))  # a day and more ago
    upload(b, "/import/points", book(POINT_HEADERS, [[*row[:2], "二号路", *row[3:]]]))
    assert not waiting.exists()
    assert b.post("/import/points/confirm", {"token": first[1]}).status_code == 404
