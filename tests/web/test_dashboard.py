"""The overview: operating points over time from their real registration dates; townships one line each on a phone."""

from __future__ import annotations

from datetime import date

from app.web.views import _trend
from tests.conftest import Driver, People


def test_trend_counts_points_from_their_registration_dates(driver: Driver, people: People, session, district) -> None:  # type: ignore[no-untyped-def]
    driver.open(name="早登记托幼点", registered_on=date(2021, 3, 15))  # the case is opened today (Nov 2026)
    late = driver.open(name="后登记托幼点", registered_on=date(2022, 6, 1))
    driver.do(late, "start_review")
    driver.do(late, "propose_closure", reason="已停办")
    driver.do(late, "approve", actor=people.reviewer)
    trend = _trend(session, user=people.reviewer, district=district, today=date(2026, 11, 24))
    by_month = {m: (op, unfiled) for m, op, unfiled in trend}
    assert by_month[date(2022, 1, 1)] == (1, 1)  # registered in 2021: counted then, not from its case's opening
    assert by_month[date(2022, 6, 1)] == (2, 2)
    assert trend[-1][1:] == (1, 1)  # the closed one no longer operates
    assert len(trend) <= 60


def test_dashboard_collapses_townships_on_a_phone(as_user, people: People, driver: Driver) -> None:  # type: ignore[no-untyped-def]
    driver.open()
    page = as_user(people.committee).get("/dashboard").text
    towns = page.split('class="narrow-only town-list"')[1].split("</section>")[0]
    assert towns.count('<details class="town">') >= 1 and "<table" not in towns
    assert "按月" in page and "目前在营" in page
