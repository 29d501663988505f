"""Wiring: the in-process scheduler starts and stops with the app, PDFs answer 503 without a
renderer, the overview lists supervised cases, and `tuoyou serve` is a command."""

from __future__ import annotations

import re
import sys
import types
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.web import create_app
from app.web import notices as web_notices
from cases.config import Settings
from cases.models import Notice
from tests.conftest import NOW, Driver, People


def test_scheduler_starts_and_stops_with_the_app(engine, district, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    calls: list[tuple[str, object]] = []
    fake = types.ModuleType("scheduler.runner")
    fake.start_background = lambda url, config: calls.append(("start", (url, config))) or "sched"  # type: ignore[attr-defined]
    fake.stop_background = lambda sched: calls.append(("stop", sched))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "scheduler.runner", fake)
    app = create_app(engine=engine, district=district, settings=Settings(), start_scheduler=True,
                     config_path="district.toml")
    with TestClient(app) as client:
        assert client.get("/login").status_code == 200
        assert calls[0][0] == "start"
        url, config = calls[0][1]  # type: ignore[misc]
        assert url.startswith(engine.url.drivername) and config == "district.toml"
    assert calls[-1] == ("stop", "sched")
    calls.clear()
    with TestClient(create_app(engine=engine, district=district, settings=Settings())):
        pass
    assert calls == []  # tests and other embedders get no scheduler unless they ask


def test_pdf_unavailable_is_a_clear_503(as_user, client: TestClient, people: People, driver: Driver,  # type: ignore[no-untyped-def]
                                        district, engine, monkeypatch) -> None:
    case = driver.open()
    driver.do(case, "start_review")
    driver.do(case, "order_rectification", failed=(district.checklist[0].code,))
    with Session(engine) as s:
        notice = s.exec(select(Notice).where(Notice.case_id == case.id)).one()
    monkeypatch.setattr(web_notices, "_renderer", lambda: None)
    r = as_user(people.inspector).get(f"/notices/{notice.id}/pdf")
    assert r.status_code == 503 and web_notices.UNAVAILABLE_ZH in r.text
    from cases.users import issue_token

    with Session(engine) as s:
        from cases.models import User

        token = issue_token(s, s.get(User, people.inspector.id))  # type: ignore[arg-type]
    r = client.get(f"/api/v1/notices/{notice.id}/pdf", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 503 and r.json()["error"]["zh"] == web_notices.UNAVAILABLE_ZH
    # another township: not found, renderer or not
    assert as_user(people.other_inspector).get(f"/notices/{notice.id}/pdf").status_code == 404


def test_overview_lists_supervised_cases(as_user, people: People, driver: Driver, district, session) -> None:  # type: ignore[no-untyped-def]
    supervision = pytest.importorskip("cases.supervision")
    case = driver.open(name="督办托幼点")
    driver.do(case, "start_review")
    r = driver.do(case, "order_rectification", failed=(district.checklist[0].code,))
    deadline = r.case.deadline
    later = NOW + timedelta(days=(deadline - NOW.date()).days + 3)
    driver.do(case, "expire", actor=people.system, now=later)
    supervision.escalate(session=session, district=district, case_id=case.id, deadline=deadline,
                         kind="rectification", level=1, now=later)
    page = as_user(people.lead).get("/dashboard").text
    assert "督办中的案件" in page and "督办托幼点" in page and "镇街督办" in page
    worklist = as_user(people.inspector).get("/worklist?tab=overdue").text
    assert "督办托幼点" in worklist and re.search(r"lvl1", worklist)


def test_serve_is_a_command() -> None:
    from typer.testing import CliRunner

    from app.cli import app

    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--demo", "--db", "--config"):
        assert option in result.output
