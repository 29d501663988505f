"""Integration: a notice the case service issues renders and verifies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from cases.bootstrap import init_database
from cases.config import District
from cases.db import make_engine
from cases.models import Notice
from cases.notices import render_notices, verify_pdf
from cases.service import Action, advance, open_case
from cases.users import add_user
from tests.notices.conftest import KEY, pdf_text

NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def test_service_notice_renders(tmp_path: Path, wuqing: District) -> None:
    engine = make_engine("sqlite:///" + str(tmp_path / "t.db"))
    init_database(engine, wuqing)
    town = wuqing.townships[0]
    with Session(engine, expire_on_commit=False) as session:
        inspector = add_user(session, name="insp", role="inspector", township_code=town.code)
        session.commit()
        case = open_case(session=session, district=wuqing, actor=inspector, name="彩虹托幼点",
                         township_code=town.code, address="某村1号", operator="王五", now=NOW)
        assert case.id is not None
        advance(session=session, district=wuqing, case_id=case.id, actor=inspector,
                action=Action(trigger="start_review"), now=NOW)
        result = advance(session=session, district=wuqing, case_id=case.id, actor=inspector,
                         action=Action(trigger="order_rectification", failed=("L01",), major=("F01",)), now=NOW)
        assert result.notices
        notice = session.exec(select(Notice).where(Notice.number == result.notices[0].number)).one()
        [path] = render_notices(session, [notice], wuqing, tmp_path / "out", key=KEY)
        text = pdf_text(path)
        assert notice.number in text and "彩虹托幼点" in text and "王五" in text
        assert "证照手续" in text and "消防安全" in text and "重大安全隐患" in text
        assert town.name in text
        assert verify_pdf(session, path).status == "genuine"
    engine.dispose()
