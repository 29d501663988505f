"""The public verification page `/v/<code>`: no sign-in, what the paper says, status, rate limit."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.web.pages.verify import RateLimiter, limiter
from cases.models import Notice
from cases.notices.codes import display_code
from cases.notices.render import job_for
from scheduler.sweeps import sweep
from tests.conftest import Driver
from tests.scheduler.conftest import at


@pytest.fixture(autouse=True)
def _fresh_limiter() -> None:
    limiter.reset()


def _coded(session: Session, notice: Notice) -> Notice:
    """Give a notice its content hash and verification code, as its first rendering would."""
    job = job_for(notice, key="k")
    notice.content_hash, notice.verify_code = job.content_hash, job.verify_code
    session.add(notice)
    session.commit()
    return notice


def _rectifying(driver: Driver) -> tuple[int, Notice]:
    case = driver.open()
    driver.do(case, "start_review")
    r = driver.do(case, "order_rectification", failed=("F01",))
    notice = driver.session.exec(select(Notice).where(Notice.number == r.notices[0].number)).one()
    return case.id or 0, _coded(driver.session, notice)


def test_public_page_shows_what_the_paper_says(client: TestClient, driver: Driver) -> None:
    _case, notice = _rectifying(driver)
    res = client.get(f"/v/{notice.verify_code}")
    assert res.status_code == 200
    html = res.text
    assert notice.number in html and "整改通知书" in html and notice.addressee in html
    assert notice.issuer in html and f"{notice.issued_on.year}年{notice.issued_on.month}月" in html
    assert "有效" in html and display_code(notice.verify_code) in html
    assert " ".join(notice.content_hash[i:i + 4] for i in range(0, 8, 4)) in html  # the text fingerprint
    assert "举办者" in notice.addressee
    # no more than the paper: no case link, no checklist notes, no people of the bureau
    assert "/cases/" not in html and "退出" not in html
    assert res.headers["cache-control"] == "no-store"


def test_typed_code_in_any_form(client: TestClient, driver: Driver) -> None:
    _case, notice = _rectifying(driver)
    typed = display_code(notice.verify_code).lower()
    res = client.get("/v", params={"code": typed})
    assert res.status_code == 303 and res.headers["location"] == f"/v/{notice.verify_code}"
    assert client.get(f"/v/{typed}").status_code == 200
    assert client.get("/v").status_code == 200


def test_unknown_code_is_404(client: TestClient, driver: Driver) -> None:
    _rectifying(driver)
    res = client.get("/v/ABCDE12345")
    assert res.status_code == 404 and "没有找到" in res.text
    assert client.get("/v/<script>").status_code == 404
    assert "<script>" not in client.get("/v/<script>").text


def test_superseded_by_the_next_round(client: TestClient, driver: Driver) -> None:
    case_id, first = _rectifying(driver)
    driver.do(case_id, "request_reinspection")
    driver.do(case_id, "fail_reinspection", failed=("F01",))
    res = client.get(f"/v/{first.verify_code}")
    assert res.status_code == 200 and "已被后续文书取代" in res.text


def test_rate_limited_per_client(client: TestClient, driver: Driver) -> None:
    _case, notice = _rectifying(driver)
    from app.web.pages import verify

    statuses = [client.get(f"/v/{notice.verify_code}").status_code for _ in range(verify.RATE_LIMIT + 2)]
    assert statuses[: verify.RATE_LIMIT] == [200] * verify.RATE_LIMIT
    assert statuses[-1] == 429
    res = client.get("/v/ABCDE12345")
    assert res.status_code == 429 and int(res.headers["retry-after"]) >= 1 and "过于频繁" in res.text


def test_rate_limiter_window() -> None:
    lim = RateLimiter(2, 10.0)
    assert lim.allow("a", 0) == 0 and lim.allow("a", 1) == 0
    assert lim.allow("a", 2) > 0 and lim.allow("b", 2) == 0
    assert lim.allow("a", 10.5) == 0  # the first hit left the window


def test_a_committee_notice_shows_the_committees_number_and_name(client: TestClient, engine: sa.Engine,
                                                                 driver: Driver) -> None:
    """A late approval's 督办通知书 is the committee's: its page shows the committee's 文号, not the bureau's."""
    district = driver.district
    case = driver.open(now=at(date(2026, 11, 2), 8))
    driver.do(case, "start_review", now=at(date(2026, 11, 2), 9))
    driver.do(case, "propose_filing", now=at(date(2026, 11, 2), 10))
    sweep(engine, district, at(date(2026, 11, 10)), deliver=False)
    notice = _coded(driver.session, driver.session.exec(select(Notice).where(Notice.case_id == case.id)).one())
    assert notice.number == "武清学前委督〔2026〕1号" and notice.issuer == district.district.committee
    html = client.get(f"/v/{notice.verify_code}").text
    assert notice.number in html and district.district.committee in html and "督办通知书" in html
