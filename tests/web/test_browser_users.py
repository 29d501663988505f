"""The admin's user page in headless Chromium: unlock and disable, at desktop and at 390-px phone width."""

from __future__ import annotations

import pytest

from tests.web.test_browser import ARGS, CHROMIUM, DESKTOP, PHONE, Site, _shot, _sign_in, site  # noqa: F401

pytestmark = pytest.mark.browser


def test_admin_unlocks_and_disables_users(site: Site) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            ctx = browser.new_context(viewport=viewport, locale="zh-CN")
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            # a locked-out inspector, made the way the sign-in page does it
            for _ in range(5):
                page.goto(f"{site.base}/login")
                page.fill("input[name=name]", "insp02")
                page.fill("input[name=password]", "wrong password")
                page.click("button[type=submit]")
            expect(page.locator("[role=alert]")).to_contain_text("用户名或密码错误")
            _sign_in(page, site.base, "admin")
            page.click("a[href='/admin/users']")
            expect(page.locator("h1")).to_have_text("用户管理")
            row = page.locator("tr", has_text="insp02")
            expect(row).to_contain_text("锁定至")
            _shot(page, f"20-admin-users-{label}")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            row.get_by_role("button", name="解锁").click()
            expect(page.locator("[role=status]")).to_contain_text("已解除 insp02 的登录锁定")
            expect(page.locator("tr", has_text="insp02")).not_to_contain_text("锁定至")
            page.locator("tr", has_text="insp03").get_by_role("button", name="停用").click()
            expect(page.locator("[role=status]")).to_contain_text("已停用 insp03")
            expect(page.locator("tr", has_text="insp03")).to_contain_text("已停用")
            page.locator("tr", has_text="insp03").get_by_role("button", name="启用").click()
            expect(page.locator("tr", has_text="insp03")).to_contain_text("正常")
            ctx.close()
        browser.close()
    assert not errors, errors
