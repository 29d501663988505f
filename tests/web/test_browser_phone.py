"""On a 390-px phone in real headless Chromium: an inspection typed while the session ends is kept through
signing in again; tap targets, contrast, the collapsed dashboard and the printed case page are measured;
screenshots of the changed pages (phone and desktop) go to `test-artifacts/screenshots/`.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from sqlmodel import Session, select

from app.web import create_app
from cases.bootstrap import init_database
from cases.config import Settings, load_district
from cases.db import make_engine
from cases.demo import DEMO_PASSWORD, fill_demo
from cases.models import Township, User, WebSession, utcnow
from cases.service import Action, advance, open_case
from tests.web.test_browser import ARGS, CHROMIUM, DESKTOP, PHONE, SHOTS, _chromium_or_skip, _free_port

pytestmark = pytest.mark.browser

# what a finger presses: every visible one must be at least 44 × 44 CSS pixels
TAP_TARGETS = ("button, .button, .seg label, .nav a, .tabs a, details > summary, .pager a, .msg-actions a, "
               "input[type=file]")


@dataclass
class Site:
    base: str
    engine: sa.Engine
    case_id: int
    point_name: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _chromium_or_skip()
    import uvicorn

    root = tmp_path_factory.mktemp("phone")
    engine = make_engine(f"sqlite:///{root / 'tuoyou.db'}")
    district = load_district(None)
    init_database(engine, district)
    fill_demo(engine, district, points=96)
    with Session(engine, expire_on_commit=False) as s:
        insp = s.exec(select(User).where(User.name == "insp01")).one()
        town = s.get(Township, insp.township_id)
        assert town is not None
        case = open_case(session=s, district=district, actor=insp, name="院子里检查的托幼点", township_code=town.code,
                         address=f"{town.name}槐树村3号", operator="吴十", phone="13700000000",
                         registered_on=date(2021, 4, 1), basis="原备案台账第5号")
        advance(session=s, district=district, case_id=case.id, actor=insp, action=Action("start_review"))
    app = create_app(engine=engine, district=district, settings=Settings(), data_dir=root / "data")
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the web server did not start")
        time.sleep(0.05)
    assert case.id is not None
    yield Site(base=f"http://127.0.0.1:{port}", engine=engine, case_id=case.id, point_name="院子里检查的托幼点")
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    _fill_sign_in(page, name)


def _fill_sign_in(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    page.wait_for_load_state("networkidle")


def _expire_sessions(engine: sa.Engine, user: str) -> None:
    """Time passes: every session of `user` has ended (the rows stay, as they do until cleaned up)."""
    with Session(engine) as s:
        uid = s.exec(select(User.id).where(User.name == user)).one()
        s.execute(sa.update(WebSession).where(sa.column("user_id") == uid)
                  .values(expires_at=utcnow() - timedelta(minutes=1)))
        s.commit()


def _photo(tmp: Path) -> Path:
    path = tmp / "院内照片.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (40, 120, 200)).save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def _small_targets(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel)).filter(e => {
        const r = e.getBoundingClientRect(), st = getComputedStyle(e);
        return r.width > 0 && r.height > 0 && st.visibility !== 'hidden';
      }).filter(e => { const r = e.getBoundingClientRect(); return r.height < 43.5 || r.width < 43.5; })
        .map(e => { const r = e.getBoundingClientRect();
                    return `${e.tagName.toLowerCase()}.${e.className} "${e.textContent.trim().slice(0, 12)}" `
                           + `${Math.round(r.width)}×${Math.round(r.height)}`; })""",
                         TAP_TARGETS)


def _luminance(rgb: tuple[float, ...]) -> float:
    def f(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = rgb[:3]
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b)


def _contrast(fg: tuple[float, ...], bg: tuple[float, ...]) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _colours(page, selector: str) -> list[tuple[str, tuple[float, ...], tuple[float, ...]]]:  # type: ignore[no-untyped-def]
    """(text, colour, the background behind it) of each element matching `selector`."""
    raw = page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel)).map(e => {
        const parse = s => s.match(/[\\d.]+/g).map(Number);
        let bg = null, n = e;
        while (n) { const c = parse(getComputedStyle(n).backgroundColor);
                    if (c.length < 4 || c[3] > 0) { bg = c; break; } n = n.parentElement; }
        return [e.textContent.trim().slice(0, 16), parse(getComputedStyle(e).color), bg || [255, 255, 255]];
      })""", selector)
    return [(t, tuple(fg), tuple(bg)) for t, fg, bg in raw]


def test_an_inspection_survives_the_session_ending_on_a_phone(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        _sign_in(page, site.base, "insp01")
        assert not _small_targets(page), _small_targets(page)
        _shot(page, "31-worklist-compact-phone")
        page.goto(f"{site.base}/cases/{site.case_id}")
        expect(page.locator("h1")).to_have_text(site.point_name)

        # in the courtyard: every item marked, the first failed with a note and a photo
        items = page.locator("#inspection fieldset.item")
        assert items.count() >= 10
        assert page.locator("#inspection input[type=radio]:checked").count() == 0  # nothing pre-selected
        for i in range(items.count()):
            items.nth(i).locator("label", has_text="合格").first.tap()
        first = items.first
        first.locator("label", has_text="不合格").tap()
        first.locator("input[type=text]").fill("消防通道被电动车堵塞")
        first.locator("input[type=file]").set_input_files(str(_photo(tmp_path)))
        _shot(page, "32-inspection-filled-phone")
        assert not _small_targets(page), _small_targets(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        # meanwhile the session ends; the inspector presses 保存
        _expire_sessions(site.engine, "insp01")
        with page.expect_navigation():
            page.locator("#inspection button[type=submit]").tap()
        page.wait_for_load_state("networkidle")
        assert "/login" in page.url and "expired=1" in page.url
        expect(page.locator(".alert")).to_contain_text("登录已过期，已为您保留填写的内容")
        _shot(page, "33-login-expired-phone")

        # signing in again leads back to the case page, with the inspection as it was typed
        _fill_sign_in(page, "insp01")
        assert page.url.endswith(f"/cases/{site.case_id}")
        expect(page.locator(".alert.warn")).to_contain_text("登录已过期，已为您保留填写的内容")
        first = page.locator("#inspection fieldset.item").first
        expect(first.locator("input[value=fail]")).to_be_checked()
        expect(first.locator("input[type=text]")).to_have_value("消防通道被电动车堵塞")
        expect(first.locator(".thumbs img")).to_have_count(1)
        assert page.locator("#inspection input[type=radio]:checked").count() == items.count()
        _shot(page, "34-inspection-kept-phone")

        # it goes on: the checklist is saved, then what follows is chosen from what the result allows
        with page.expect_navigation():
            page.locator("#inspection button[type=submit]").tap()
        page.wait_for_load_state("networkidle")
        outcome = page.locator("#outcome")
        expect(outcome).to_contain_text("责令整改")
        expect(outcome.locator("#act-propose_filing")).to_have_count(0)  # an item failed: no filing offered
        _shot(page, "35-outcome-phone")
        form = outcome.locator("#act-order_rectification")
        form.locator("summary").tap()
        form.locator("textarea[name=reason]").fill("现场检查发现消防通道堵塞，责令限期整改")
        with page.expect_navigation():
            form.locator("button[type=submit]").tap()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".head-state")).to_contain_text("整改中")
        expect(page.locator("#last-inspection")).to_contain_text("消防通道被电动车堵塞")
        expect(page.locator("#last-inspection img")).to_have_count(1)
        assert not _small_targets(page), _small_targets(page)
        _shot(page, "36-case-after-inspection-phone")

        # contrast of the coloured words (badges, states, results, hints) is at least 4.5:1
        low = [(t, round(_contrast(fg, bg), 2)) for sel in (".badge", ".state", ".res-fail strong", ".hint", ".muted")
               for t, fg, bg in _colours(page, sel) if _contrast(fg, bg) < 4.5]
        assert not low, low

        # printed: facts, timeline and notices; no navigation, no forms
        page.emulate_media(media="print")
        hidden = page.evaluate("""() => ['header.top', '#actions', '#inspection', 'form', 'nav']
            .map(s => Array.from(document.querySelectorAll(s)).every(e => getComputedStyle(e).display === 'none'))""")
        assert all(hidden), hidden
        shown = page.evaluate("""() => ['.facts', '#timeline', '#notices']
            .map(s => getComputedStyle(document.querySelector(s)).display !== 'none')""")
        assert all(shown), shown
        _shot(page, "37-case-print-phone")
        ctx.close()

        # the committee's dashboard on a phone: townships collapsed, no sideways scrolling
        ctx = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
        page = ctx.new_page()
        _sign_in(page, site.base, "committee")
        page.goto(f"{site.base}/dashboard")
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < 4000, f"the dashboard is {height}px tall on a phone"  # it was 12,200 px, then 5,389
        assert page.locator("svg.rates").first.is_hidden()  # the three rates' charts are on /indicators
        towns = page.evaluate("document.querySelector('#townships').getBoundingClientRect().height")
        assert towns < 1500, f"24 townships take {towns}px"  # one tappable line each
        page.locator("#townships details.town summary").first.tap()
        expect(page.locator("#townships details.town").first.locator("dl")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert not _small_targets(page), _small_targets(page)
        _shot(page, "38-dashboard-committee-phone")
        page.goto(f"{site.base}/workflow")
        page.locator("#by-state summary").first.tap()
        _shot(page, "39-workflow-phone")
        page.goto(f"{site.base}/inbox")
        assert not _small_targets(page), _small_targets(page)
        _shot(page, "40-inbox-phone")
        ctx.close()

        # and at a desk
        ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        page = ctx.new_page()
        _sign_in(page, site.base, "committee")
        for url, name in (("/dashboard", "41-dashboard-committee-desktop"), ("/workflow", "42-workflow-desktop"),
                          (f"/cases/{site.case_id}", "43-case-desktop"), ("/inbox", "44-inbox-desktop")):
            page.goto(f"{site.base}{url}")
            _shot(page, name)
        page.goto(f"{site.base}/cases/{site.case_id}")
        page.pdf(path=str(SHOTS / "45-case-printed.pdf"), format="A4")
        ctx.close()
        browser.close()
    assert not errors, errors
