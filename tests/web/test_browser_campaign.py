"""Registry upload and the three rates in headless Chromium, at desktop and at 390-px phone width."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.test_browser import ARGS, CHROMIUM, DESKTOP, PHONE, Site, _shot, _sign_in, site  # noqa: F401
from tests.workbooks import POINT_HEADERS, book

pytestmark = pytest.mark.browser


def test_upload_preview_confirm_and_rates(site: Site, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            path = tmp_path / f"名册-{label}.xlsx"
            path.write_bytes(book(POINT_HEADERS, [
                [f"上传托幼点{label}", "梅厂镇", f"{label}路1号", "孙八", "", "2023/5/1"],
                [f"有误托幼点{label}", "火星镇", f"{label}路2号", "周九", "", "2023-05-01"],
            ]))
            ctx = browser.new_context(viewport=viewport, locale="zh-CN")
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            _sign_in(page, site.base, "reviewer1")
            page.goto(f"{site.base}/points")
            page.click("a[href='/import/points']")
            page.set_input_files("input[name=file]", str(path))
            page.click("button.primary")
            expect(page.locator("h1")).to_contain_text("导入预览")
            expect(page.locator("body")).to_contain_text("本区没有镇街「火星镇」")
            _shot(page, f"30-import-preview-{label}")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            page.get_by_role("button", name="跳过有误的行，导入 1 个托幼点").click()
            expect(page.locator("[role=status]")).to_contain_text("已导入 1 个托幼点并立案")
            page.goto(f"{site.base}/indicators")
            expect(page.locator("h1")).to_contain_text("学前教育“三率”")
            _shot(page, f"31-indicators-{label}")
            assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
            with page.expect_download() as dl:
                page.goto(f"{site.base}/worklist?tab=all")
                page.get_by_role("link", name="下载整治台账（Excel）").click()
            assert dl.value.suggested_filename.endswith(".xlsx")
            ctx.close()
        browser.close()
    assert not errors, errors
