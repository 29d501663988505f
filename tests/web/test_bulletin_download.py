"""The 督查通报 from the dashboard: the bureau and the committee download it; townships do not."""

from __future__ import annotations

import pytest

from cases.config import DISTRICTS_DIR, load_district
from cases.notices.report import bulletin_addressee
from tests.conftest import Driver, People


def test_bureau_and_committee_download_the_bulletin(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    driver.open()
    rev = as_user(people.reviewer)
    page = rev.get("/dashboard").text
    assert 'action="/reports/bulletin"' in page and "下载本周督查通报" in page and "下载本月督查通报" in page
    r = rev.post("/reports/bulletin", {"period": "week"})
    assert r.status_code == 303 and r.headers["location"].startswith("/notices/")
    again = rev.post("/reports/bulletin", {"period": "week"})
    assert again.headers["location"] == r.headers["location"]  # same figures, same notice: no new number
    pdf = rev.get(r.headers["location"])
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    com = as_user(people.committee)
    assert "下载本月督查通报" in com.get("/dashboard").text
    monthly = com.post("/reports/bulletin", {"period": "month"})
    assert monthly.status_code == 303 and monthly.headers["location"] != r.headers["location"]
    assert rev.post("/reports/bulletin", {"period": "year"}).status_code == 400
    lead = as_user(people.lead)
    assert "下载本周督查通报" not in lead.get("/dashboard").text
    assert lead.post("/reports/bulletin", {"period": "week"}).status_code == 403
    assert lead.get(r.headers["location"]).status_code == 404  # a district bulletin is not the township's


@pytest.mark.parametrize(("name", "expected"), [("wuqing", "各镇人民政府，区有关单位"),
                                                ("shijingshan", "各街道办事处，区有关单位")])
def test_the_bulletin_addresses_the_bodies_the_district_has(name: str, expected: str) -> None:
    assert bulletin_addressee(load_district(DISTRICTS_DIR / f"{name}.toml")) == expected
