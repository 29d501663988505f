"""Each 督查通报 prints the district seal's fingerprint over the records it is drawn from."""

from __future__ import annotations

from pathlib import Path

from cases import seal
from cases.notices.report import render_report
from tests.notices.conftest import KEY, World, pdf_text


def test_bulletin_prints_the_seal(world: World, tmp_path: Path) -> None:
    notice, path = render_report(world.session, world.district, "week", tmp_path / "b.pdf", key=KEY)
    latest = seal.latest(world.session)
    assert latest is not None and latest.cases == 1
    assert notice.data["seal"]["fingerprint"] == latest.fingerprint
    text = pdf_text(path)
    assert "审计封存" in text and latest.fingerprint in text
    assert seal.verify_anchors(world.session) == []
