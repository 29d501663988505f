"""End to end in real headless Chromium: an inspector inspects and orders rectification, the notice
PDF downloads, a reviewer approves a proposal; screenshots of each main page, desktop and phone,
are saved to `test-artifacts/screenshots/` for people to look at.
"""

from __future__ import annotations

import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import Session, select

from app.web import create_app
from app.web.notices import UNAVAILABLE_ZH, pdf_available
from cases.bootstrap import init_database
from cases.config import Settings, load_district
from cases.db import make_engine
from cases.demo import DEMO_PASSWORD, fill_demo
from cases.models import Township, User
from cases.service import Action, advance, open_case

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update"]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _chromium_or_skip() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"Chromium is required under CI=true but {CHROMIUM} is missing")
        pytest.skip(f"{CHROMIUM} not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    base: str
    inspect_case: int
    propose_case: int
    point_name: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _chromium_or_skip()
    import uvicorn

    root = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{root / 'tuoyou.db'}")
    district = load_district(None)
    init_database(engine, district)
    fill_demo(engine, district, points=72)
    with Session(engine, expire_on_commit=False) as s:
        insp = s.exec(select(User).where(User.name == "insp01")).one()
        town = s.get(Township, insp.township_id)
        assert town is not None
        case = open_case(session=s, district=district, actor=insp, name="浏览器测试托幼点", township_code=town.code,
                         address=f"{town.name}测试村8号", operator="赵六", phone="13900000000",
                         registered_on=date(2021, 9, 1), basis="原备案台账第8号")
        advance(session=s, district=district, case_id=case.id, actor=insp, action=Action("start_review"))
        other = open_case(session=s, district=district, actor=insp, name="待备案托幼点", township_code=town.code,
                          address=f"{town.name}测试村9号", operator="钱七", registered_on=date(2022, 5, 1),
                          basis="原备案台账第9号")
        advance(session=s, district=district, case_id=other.id, actor=insp, action=Action("start_review"))
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
    assert case.id is not None and other.id is not None
    yield Site(base=f"http://127.0.0.1:{port}", inspect_case=case.id, propose_case=other.id,
               point_name="浏览器测试托幼点")
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _sign_in(page, base: str, name: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def _photo(tmp: Path) -> Path:
    path = tmp / "现场照片.jpg"
    img = Image.new("RGB", (800, 600), (200, 60, 40))
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    return path


def test_inspect_rectify_download_and_approve(site: Site, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

        page.goto(f"{site.base}/login")
        _shot(page, "01-login-desktop")
        _sign_in(page, site.base, "insp01")
        expect(page.locator("h1")).to_have_text("本镇街案件")
        _shot(page, "02-worklist-inspector-desktop")

        # find the point and open its case
        page.fill("input[name=q]", site.point_name)
        page.click("form.filters button[type=submit]")
        page.click(f"text={site.point_name}")
        expect(page.locator("h1")).to_have_text(site.point_name)

        # inspect: every item marked (one failed, with a note and a photo), then choose what follows
        checklist = page.locator("#inspection form")
        items = checklist.locator("fieldset.item")
        for i in range(items.count()):
            items.nth(i).locator("label", has_text="不合格" if i == 0 else "合格").first.click()
        first = items.first
        first.locator("input[type=text]").fill("消防通道堆放杂物")
        first.locator("input[type=file]").set_input_files(str(_photo(tmp_path)))
        _shot(page, "03-case-inspection-form-desktop")
        checklist.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".alert.ok")).to_contain_text("检查结果已保存")
        _shot(page, "03b-case-inspection-outcome-desktop")
        form = page.locator("#outcome #act-order_rectification")
        form.locator("summary").click()
        form.locator("textarea[name=reason]").fill("现场检查发现问题，责令限期整改")
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".alert.ok")).to_contain_text("已执行「责令整改」")
        expect(page.locator(".head-state")).to_contain_text("整改中")
        expect(page.locator("#evidence img")).to_have_count(1)
        expect(page.locator("#timeline")).to_contain_text("责令整改")
        expect(page.locator("main")).to_contain_text("消防通道堆放杂物")
        _shot(page, "04-case-after-rectification-desktop")

        # the 整改通知书 PDF
        link = page.locator("#notices a", has_text="下载 PDF").first
        if pdf_available():
            with page.expect_download(timeout=120_000) as dl:
                link.click()
            pdf = Path(dl.value.path())
            assert pdf.read_bytes()[:5] == b"%PDF-"
            assert dl.value.suggested_filename.endswith("整改通知书.pdf")
        else:
            href = link.get_attribute("href")
            r = page.request.get(f"{site.base}{href}")
            assert r.status == 503 and UNAVAILABLE_ZH in r.text()

        # a proposal for the bureau: every item passed, then 检查合格，拟予备案
        page.goto(f"{site.base}/cases/{site.propose_case}")
        items = page.locator("#inspection fieldset.item")
        for i in range(items.count()):
            items.nth(i).locator("label", has_text="合格").first.click()
        page.locator("#inspection button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        form = page.locator("#outcome #act-propose_filing")
        expect(form.locator("summary")).to_contain_text("检查合格，拟予备案")
        form.locator("summary").click()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".head-state")).to_contain_text("拟予备案")

        page.goto(f"{site.base}/points")
        _shot(page, "05-points-desktop")
        page.goto(f"{site.base}/dashboard")
        _shot(page, "06-dashboard-inspector-desktop")
        page.click("button:has-text('退出')")
        expect(page.locator("h1")).to_have_text("登录")

        # the reviewer approves it from the queue
        _sign_in(page, site.base, "reviewer1")
        expect(page.locator("h1")).to_have_text("审批队列")
        _shot(page, "07-queue-reviewer-desktop")
        page.goto(f"{site.base}/queue?state=filing_proposed")
        page.click("text=待备案托幼点")
        form = page.locator("#act-approve")
        form.locator("summary").click()
        form.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        expect(page.locator(".head-state")).to_contain_text("已备案")
        _shot(page, "08-case-approved-reviewer-desktop")
        for url, name in (("/dashboard", "09-dashboard-district-desktop"), ("/workflow", "10-workflow-desktop"),
                          ("/inbox", "11-inbox-reviewer-desktop"), ("/points/new", "12-point-new-desktop"),
                          ("/worklist?tab=all", "13-worklist-district-desktop")):
            page.goto(f"{site.base}{url}")
            _shot(page, name)
        ctx.close()

        # on a phone, on site
        phone = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                    device_scale_factor=2)
        page = phone.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        _sign_in(page, site.base, "insp01")
        _shot(page, "21-worklist-inspector-phone")
        page.goto(f"{site.base}/cases/{site.inspect_case}")
        _shot(page, "22-case-phone")
        page.locator("#act-request_reinspection summary").click()
        _shot(page, "23-case-action-open-phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the case page scrolls sideways on a phone ({width}px)"
        for url, name in (("/dashboard", "24-dashboard-phone"), ("/inbox", "25-inbox-phone"),
                          ("/points", "26-points-phone")):
            page.goto(f"{site.base}{url}")
            _shot(page, name)
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], url
        phone.close()
        browser.close()
    assert not errors, errors
