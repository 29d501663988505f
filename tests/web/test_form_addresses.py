"""Every form's address opened by GET or HEAD (a reload, a bookmark, a shared link) leads to the page the form
is on, never to a 405 or a page that does not exist; the same after a refusal shown at that address."""

from __future__ import annotations

import importlib
import pkgutil

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlmodel import Session

from app.web import pages
from cases.complaints import add_complaint
from cases.config import District
from tests.conftest import NOW, Driver, People
from tests.web.conftest import Browser


def _post_only_addresses() -> set[str]:
    """The page addresses that take a POST and have no GET of their own (every page module's router)."""
    routes = [r for m in pkgutil.iter_modules(pages.__path__)
              for r in getattr(importlib.import_module(f"{pages.__name__}.{m.name}"), "router", APIRouter()).routes
              if isinstance(r, APIRoute)]
    gets = {r.path for r in routes if "GET" in r.methods}
    return {r.path for r in routes if "POST" in r.methods and r.path not in gets}


def _follow(b: Browser, url: str, method: str = "GET") -> tuple[list[str], int]:
    """The addresses a browser is sent to from `url` (GET after the first hop) and the last status."""
    r = b.client.request(method, url)
    hops: list[str] = []
    while r.status_code in (301, 302, 303, 307, 308) and len(hops) < 5:
        hops.append(r.headers["location"])
        r = b.client.get(r.headers["location"])
    return hops, r.status_code


def test_each_form_address_by_get_or_head_leads_to_its_form(as_user, people: People,  # type: ignore[no-untyped-def]
                                                             driver: Driver, session: Session,
                                                             district: District) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    [order] = driver.do(case, "order_rectification", failed=("P02",)).notices  # an unserved 整改通知书
    add_complaint(session, district, actor=people.inspector, number="GD-1", point_id=case.point_id, now=NOW)
    inspector, reviewer, admin = as_user(people.inspector), as_user(people.reviewer), as_user(people.admin)
    c = f"/cases/{case.id}"
    # POST-only address → (who may post there, the page its form is on, the form as that page shows it)
    homes = {
        "/logout": (inspector, "/", 'action="/logout"'),
        "/import/points/confirm": (inspector, "/import/points", 'action="/import/points"'),
        "/indicators/import": (reviewer, "/indicators", 'action="/indicators/import"'),
        f"{c}/inspect": (inspector, c, f'action="{c}/inspect"'),
        f"{c}/inspect/discard": (inspector, c, ""),  # on the page while an inspection is being recorded
        f"{c}/draft/discard": (inspector, c, ""),  # on the page while a refused form is shown again
        f"{c}/do": (inspector, c, f'action="{c}/do"'),
        f"{c}/evidence": (inspector, c, f'action="{c}/evidence"'),
        f"/notices/{order.id}/deliver": (inspector, f"{c}#deliver-{order.id}", f'action="/notices/{order.id}/deliver"'),
        "/complaints/GD-1/reply": (inspector, "/complaints", 'action="/complaints/GD-1/reply"'),
        "/inbox/1/read": (inspector, "/inbox", ""),  # one form per message
        "/inbox/read-all": (inspector, "/inbox", ""),  # while there are unread messages
        "/reports/bulletin": (reviewer, "/dashboard", 'action="/reports/bulletin"'),
        "/admin/users/disable": (admin, "/admin/users", 'action="/admin/users/disable"'),
    }
    templates = {"/logout", "/import/points/confirm", "/indicators/import", "/cases/{case_id}/inspect",
                 "/cases/{case_id}/inspect/discard", "/cases/{case_id}/draft/discard", "/cases/{case_id}/do",
                 "/cases/{case_id}/evidence", "/complaints/{number}/reply",
                 "/inbox/{message_id}/read", "/inbox/read-all", "/reports/bulletin", "/admin/users/{action}"}
    # a new form's address is added here, with its page (the 送达 form's has a GET of its own)
    assert _post_only_addresses() == templates
    for url, (b, page, form) in homes.items():
        for method in ("GET", "HEAD"):
            hops, status = _follow(b, url, method)
            assert hops and hops[0] == page, (method, url, hops)
            assert status == 200, (method, url, hops, status)
        if form:
            assert form in b.get(page.split("#")[0] if page != "/" else hops[-1]).text, (url, page)


def test_forms_posted_to_an_address_with_a_get_show_the_form_there(as_user, people: People) -> None:  # type: ignore[no-untyped-def]
    """The forms whose address is also their page's: a GET renders the form itself."""
    inspector, reviewer, lead = as_user(people.inspector), as_user(people.reviewer), as_user(people.lead)
    for b, url, form in ((inspector, "/import/points", 'action="/import/points"'),
                         (reviewer, "/indicators", 'action="/indicators"'),
                         (inspector, "/complaints", 'action="/complaints"'),
                         (lead, "/designation/new", 'action="/designation/new"'),
                         (inspector, "/points/new", 'action="/points"')):
        for method in ("GET", "HEAD"):
            assert b.client.request(method, url).status_code == 200, (method, url)
        assert form in b.get(url).text, url


def test_a_refusal_shown_at_the_form_address_then_reloaded_by_get_leads_to_the_form(  # type: ignore[no-untyped-def]
        as_user, people: People, driver: Driver, session: Session, district: District) -> None:
    case = driver.open()
    add_complaint(session, district, actor=people.inspector, number="GD-2", point_id=case.point_id, now=NOW)
    inspector, reviewer, admin = as_user(people.inspector), as_user(people.reviewer), as_user(people.admin)
    # a reply without its text is refused on the 12345 page, shown at the reply's address
    r = inspector.post("/complaints/GD-2/reply", {"text": " "})
    assert r.status_code == 400 and "须填写答复内容" in r.text and 'action="/complaints/GD-2/reply"' in r.text
    assert _follow(inspector, "/complaints/GD-2/reply") == (["/complaints"], 200)
    # an administrator may not disable themself: the refusal, then the address reloaded
    r = admin.post("/admin/users/disable", {"name": people.admin.name})
    assert r.status_code == 403 and "不能停用自己的账户" in r.text
    assert _follow(admin, "/admin/users/disable") == (["/admin/users"], 200)
    # a 督查通报 for a period that does not exist
    r = reviewer.post("/reports/bulletin", {"period": "year"})
    assert r.status_code == 400
    assert _follow(reviewer, "/reports/bulletin") == (["/dashboard"], 200)
    # an upload to confirm that is gone
    r = inspector.post("/import/points/confirm", {"token": "0" * 64})
    assert r.status_code == 404 and "重新上传" in r.text
    assert _follow(inspector, "/import/points/confirm") == (["/import/points"], 200)


def test_a_service_forms_address_is_scoped_like_the_notice(as_user, people: People, driver: Driver,  # type: ignore[no-untyped-def]
                                                          client) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    [order] = driver.do(case, "order_rectification", failed=("P02",)).notices
    other = as_user(people.other_inspector)
    r = other.get(f"/notices/{order.id}/deliver")  # another township: as if there were no such notice
    assert r.status_code == 404 and f"/cases/{case.id}" not in r.text
    assert as_user(people.inspector).get(f"/notices/{2**40}/deliver").status_code == 404
    r = client.get(f"/notices/{order.id}/deliver")  # not signed in: sign in, then back to this address
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=%2Fnotices%2F")
