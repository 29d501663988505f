"""Nothing typed is lost: forms posted after the session ended are kept as drafts; every POST answers
with a redirect (post/redirect/get), so a reload is never a 405; HEAD is answered like GET.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.web.drafts import EXPIRED_ZH
from app.web.security import LOGIN_CSRF_COOKIE, SESSION_COOKIE, token_digest
from cases.models import Case, Evidence, FormDraft, WebSession
from tests.conftest import NOW, Driver, People
from tests.web.conftest import CSRF_RE, Browser
from tests.web.test_auth import PASSWORD, _with_password


def _expire(engine: Engine, b: Browser) -> None:
    """End the browser's session as time would (the row stays, as it does until cleaned up)."""
    token = b.client.cookies.get(SESSION_COOKIE)
    with Session(engine) as s:
        row = s.exec(select(WebSession).where(WebSession.token_hash == token_digest(str(token)))).one()
        row.expires_at = NOW - timedelta(minutes=1)
        s.add(row)
        s.commit()


def _sign_in_again(client: TestClient, location: str) -> str:
    """Follow the sign-in page the app sent us to and sign in with the password; returns where we land."""
    page = client.get(location)
    assert page.status_code == 200
    token = CSRF_RE.search(page.text).group(1)  # type: ignore[union-attr]
    nxt = parse_qs(urlsplit(location).query)["next"][0]
    expired = parse_qs(urlsplit(location).query).get("expired", [""])[0]
    r = client.post("/login", data={"name": "insp", "password": PASSWORD, "csrf_token": token, "next": nxt,
                                    "expired": expired})
    assert r.status_code == 303
    assert client.cookies.get(LOGIN_CSRF_COOKIE) is None
    return str(r.headers["location"])


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "teal").save(out, "JPEG")
    return out.getvalue()


def test_an_inspection_typed_when_the_session_ended_is_kept(as_user, people: People, driver: Driver, district,  # type: ignore[no-untyped-def]
                                                            engine: Engine) -> None:
    _with_password(engine, people.inspector)
    case = driver.open()
    driver.do(case, "start_review")
    b = as_user(people.inspector)
    assert b.get(f"/cases/{case.id}").status_code == 200
    _expire(engine, b)
    code = district.checklist[0].code
    marks = {f"item_{i.code}": "pass" for i in district.checklist} | {f"item_{code}": "fail"}
    photo = _jpeg()
    r = b.client.post(f"/cases/{case.id}/inspect",
                      data={"csrf_token": b.csrf, "step": "inspection", **marks, f"note_{code}": "消防通道堵塞"},
                      files=[(f"files_{code}", ("site.jpg", photo, "image/jpeg"))])
    # to the sign-in page, which says why, and then back to the case page (never the POST-only address)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/login?next=%2Fcases%2F") and "expired=1" in location
    login = b.client.get(location).text
    assert EXPIRED_ZH in login
    landed = _sign_in_again(b.client, location)
    assert landed == f"/cases/{case.id}"
    page = b.client.get(landed).text
    assert EXPIRED_ZH in page
    form = page.split('id="inspection"')[1].split("</form>")[0]
    assert f'name="item_{code}" value="fail" checked' in form
    assert "消防通道堵塞" in form
    sha = hashlib.sha256(photo).hexdigest()
    assert f'name="evidence_{code}" value="{sha}"' in form  # the photo is kept too, as evidence of the case
    with Session(engine) as s:
        ev = s.exec(select(Evidence).where(Evidence.case_id == case.id)).one()
        assert ev.sha256 == sha and ev.uploaded_by == people.inspector.id
        assert s.get(Case, case.id).state == "under_review"  # type: ignore[union-attr]
    # the kept checklist goes on as if it had been posted in time
    csrf = CSRF_RE.search(page).group(1)  # type: ignore[union-attr]
    r = b.client.post(f"/cases/{case.id}/inspect", data={"csrf_token": csrf, **marks, f"note_{code}": "消防通道堵塞",
                                                         f"evidence_{code}": sha})
    assert r.status_code == 303
    r = b.client.post(f"/cases/{case.id}/do", data={"csrf_token": csrf, "trigger": "order_rectification",
                                                    "reason": "现场检查"})
    assert r.status_code == 303 and r.headers["location"].endswith("done=order_rectification")
    with Session(engine) as s:
        assert s.get(Case, case.id).state == "rectifying"  # type: ignore[union-attr]
        assert s.exec(select(FormDraft).where(FormDraft.user_id == people.inspector.id)).all() == []


def test_an_action_form_typed_when_the_session_ended_is_kept(as_user, people: People, driver: Driver,  # type: ignore[no-untyped-def]
                                                             engine: Engine) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    b = as_user(people.inspector)
    _expire(engine, b)
    r = b.post(f"/cases/{case.id}/do", {"trigger": "propose_conversion", "reason": "举办者愿转型为普惠园",
                                         "target": "普惠性民办幼儿园"})
    assert r.status_code == 303 and "expired=1" in r.headers["location"]
    # signing in anew (another session of the same user) brings the form back, open, with what was typed
    again = as_user(people.inspector)
    page = again.get(f"/cases/{case.id}").text
    form = page.split('id="act-propose_conversion"')[1].split("</details>")[0]
    assert 'open id="act-propose_conversion"' in page  # the form it came from is open
    assert "举办者愿转型为普惠园" in form and "普惠性民办幼儿园" in form
    assert EXPIRED_ZH in page
    # someone else's draft is theirs alone
    assert "举办者愿转型为普惠园" not in as_user(people.inspector2).get(f"/cases/{case.id}").text


def test_a_form_with_a_forged_token_is_not_kept(as_user, people: People, driver: Driver, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    _expire(engine, b)
    r = b.client.post(f"/cases/{case.id}/do", data={"csrf_token": "forged", "trigger": "start_review",
                                                    "reason": "注入的内容"})
    assert r.status_code == 303 and "expired=0" in r.headers["location"]
    assert "请重新登录" in b.client.get(r.headers["location"]).text
    with Session(engine) as s:
        assert s.exec(select(FormDraft)).all() == []
    # no cookie at all: plain sign-in, nothing kept
    fresh = TestClient(b.client.app, follow_redirects=False)
    r = fresh.post(f"/cases/{case.id}/do", data={"trigger": "start_review"})
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fcases%2F")


def test_a_form_from_an_older_tab_is_kept(as_user, people: People, driver: Driver, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    """Signed in again in another tab: the old tab's form carries the old session's token."""
    case = driver.open()
    driver.do(case, "start_review")
    old = as_user(people.inspector)
    new = as_user(people.inspector)
    old.client.cookies.set(SESSION_COOKIE, str(new.client.cookies.get(SESSION_COOKIE)))
    r = old.post(f"/cases/{case.id}/do", {"trigger": "propose_closure", "reason": "旧页面填写的说明"})
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{case.id}"
    page = old.get(f"/cases/{case.id}").text
    assert "已为您保留填写的内容" in page and "旧页面填写的说明" in page


def test_every_form_address_reloaded_leads_to_its_page(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    for url, page in ((f"/cases/{case.id}/do", f"/cases/{case.id}"), (f"/cases/{case.id}/inspect", f"/cases/{case.id}"),
                      (f"/cases/{case.id}/evidence", f"/cases/{case.id}"), ("/logout", "/"),
                      ("/inbox/read-all", "/inbox"), ("/inbox/5/read", "/inbox")):
        r = b.get(url)
        assert r.status_code == 303, url
        assert r.headers["location"] == page, url


def test_head_is_answered_like_get(as_user, people: People, driver: Driver, client: TestClient) -> None:  # type: ignore[no-untyped-def]
    case = driver.open()
    b = as_user(people.inspector)
    r = b.client.head(f"/cases/{case.id}")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["content-type"].startswith("text/html")
    assert client.head("/login").status_code == 200
    assert client.head("/worklist").status_code == 303
    assert client.head("/static/app.css").status_code == 200


def test_point_form_refused_comes_back_filled(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    b = as_user(people.inspector)
    r = b.post("/points", {"name": "", "township": people.town.code, "address": "某村9号", "operator": "王五"})
    assert r.status_code == 303 and r.headers["location"] == "/points/new"
    page = b.get("/points/new").text
    assert "不能为空" in page and "某村9号" in page and "王五" in page


def test_expired_point_form_is_kept(as_user, people: People, engine: Engine, app: FastAPI) -> None:  # type: ignore[no-untyped-def]
    b = as_user(people.inspector)
    _expire(engine, b)
    r = b.post("/points", {"name": "过期时登记的托幼点", "township": people.town.code, "address": "某村10号",
                           "operator": "钱七"})
    assert r.status_code == 303 and "next=%2Fpoints%2Fnew" in r.headers["location"]
    page = as_user(people.inspector).get("/points/new").text
    assert "过期时登记的托幼点" in page and EXPIRED_ZH in page


def test_a_service_form_posted_after_the_session_ended_is_kept(as_user, people: People, driver: Driver,  # type: ignore[no-untyped-def]
                                                               engine: Engine) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    [order] = driver.do(case, "order_rectification", failed=("P02",)).notices
    b = as_user(people.inspector)
    _expire(engine, b)
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "served_on": "2026-11-02", "recipient": "李四",
                                                 "back": f"/cases/{case.id}", "deliver_notice": order.id})
    where = r.headers["location"]
    assert r.status_code == 303 and f"next=%2Fcases%2F{case.id}" in where and "expired=1" in where
    page = as_user(people.inspector).get(f"/cases/{case.id}").text
    assert EXPIRED_ZH in page and 'value="李四"' in page
    # a forged page is not taken from the form
    r = b.post(f"/notices/{order.id}/deliver", {"method": "left", "back": "https://evil.example/x"})
    assert "evil" not in r.headers["location"]
