"""督办 notices say who issues them to whom, ask for a reply by a date after issue, and name a real contact,
in both sample districts (武清: 区教育局 and 镇; 石景山: 区教委 and 街道 only)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from cases.bootstrap import init_database
from cases.config import DISTRICTS_DIR, District, load_district
from cases.db import make_engine
from cases.models import Notice, Township
from cases.notices.render import job_for, make_env, notice_context
from cases.users import add_user, system_user
from scheduler.sweeps import sweep
from tests.conftest import Driver, People
from tests.scheduler.conftest import at, days, rectifying_case


def notice_text(notice: Notice, district: District) -> str:
    """The notice as its reader sees the words (HTML rendered, tags dropped, whitespace joined)."""
    html = make_env().get_template(f"{notice.kind}.html").render(notice_context(job_for(notice), district))
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", "", re.sub(r"<svg.*?</svg>", "", html, flags=re.S)))


@pytest.fixture(params=["wuqing", "shijingshan"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, District, Driver]]:
    district = load_district(DISTRICTS_DIR / f"{request.param}.toml")
    engine = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    init_database(engine, district)
    with Session(engine, expire_on_commit=False) as s:
        towns = {t.code: t for t in s.exec(select(Township)).all()}
        t1, t2 = towns[district.townships[0].code], towns[district.townships[1].code]
        mk = add_user
        people = People(
            inspector=mk(s, name="insp", role="inspector", township_code=t1.code),
            inspector2=mk(s, name="insp_b", role="inspector", township_code=t1.code),
            other_inspector=mk(s, name="insp_o", role="inspector", township_code=t2.code),
            lead=mk(s, name="lead", role="lead", township_code=t1.code),
            reviewer=mk(s, name="rev", role="reviewer"), reviewer2=mk(s, name="rev2", role="reviewer"),
            committee=mk(s, name="com", role="committee"), admin=mk(s, name="adm", role="admin"),
            system=system_user(s), town=t1, other_town=t2)
        yield engine, district, Driver(s, district, people)
    engine.dispose()


def test_every_rung_names_its_bodies_and_asks_for_a_reply_after_issue(world: tuple[Engine, District, Driver]) -> None:
    engine, district, driver = world
    town = driver.people.town
    deadline = date(2026, 11, 6)
    # the demo's names carry the township, which the notice must not double
    case = rectifying_case(driver, deadline, name=f"{town.name}阳光托幼点（001）")
    for day in days(date(2026, 11, 9), date(2026, 11, 24)):
        sweep(engine, district, at(day), deliver=False)
    with Session(engine) as s:
        ns = list(s.exec(select(Notice).where(Notice.case_id == case.id, col(Notice.kind).in_(
            ["supervision_notice", "listed_supervision"])).order_by(col(Notice.id))).all())
    assert [n.data["level"] for n in ns] == [1, 2, 3]
    info = district.district
    town_unit = district.township(town.code).unit  # type: ignore[union-attr]
    texts = [notice_text(n, district) for n in ns]
    for n, text in zip(ns, texts, strict=True):
        reply_by = date.fromisoformat(n.data["reply_by"])
        assert reply_by > n.issued_on
        assert re.search(f"请于{reply_by.year}年{reply_by.month}月{reply_by.day}日前", text)
        missed = f"{deadline.year}年{deadline.month}月{deadline.day}日"
        assert text.index(missed) < text.index(f"{reply_by.year}年{reply_by.month}月{reply_by.day}日前")
        assert "系统" not in text and "各镇人民政府" not in text
        assert f"{town.name}{town.name}" not in text  # township named once
        assert f"{town_unit}：" in text  # 主送: the township's government
        assert n.data["contact"].replace(" ", "") in text and n.data["contact"] in (info.contact,
                                                                                    info.committee_contact)
        if info.bureau_short != "区教育局":
            assert "区教育局" not in text and "镇人民政府" not in text, text
    assert [n.issuer for n in ns] == [info.bureau, info.bureau, info.committee]
    assert f"抄送：{info.supervision_office}。" in texts[1] and "抄送" not in texts[0]
    assert f"抄送：{info.bureau}。" in texts[2]
    assert ns[2].data["contact"] == info.committee_contact
    # the 挂牌督办 recites the rungs this case really took, with their numbers
    assert f"启动{district.supervision.level1.name}（{ns[0].number}）" in texts[2]
    assert f"启动{district.supervision.level2.name}（{ns[1].number}）" in texts[2]


def test_a_late_approval_is_supervised_by_the_committee_to_the_bureau(world: tuple[Engine, District, Driver]) -> None:
    engine, district, driver = world
    proposed = date(2026, 11, 2)
    case = driver.open(now=at(proposed, 8))
    driver.do(case, "start_review", now=at(proposed, 9))
    driver.do(case, "propose_filing", now=at(proposed, 10))
    sweep(engine, district, at(date(2026, 11, 10)), deliver=False)
    with Session(engine) as s:
        [n] = s.exec(select(Notice).where(Notice.case_id == case.id)).all()
    text = notice_text(n, district)
    assert (n.issuer, n.addressee) == (district.district.committee, district.district.bureau)
    assert f"{district.district.bureau}：" in text and "作出审批决定" in text
    assert "请于2026年11月13日前" in text  # 11, 12, 13: three working days after issue


def test_supervision_config_refuses_units_it_cannot_name(tmp_path: Path) -> None:
    from cases.errors import InvalidInput

    raw = (DISTRICTS_DIR / "wuqing.toml").read_text(encoding="utf-8")
    bad = raw.replace('supervision_office = "天津市武清区人民政府督查室"\n', "")
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(InvalidInput, match="supervision_office"):
        load_district(path)
    zero = raw.replace("reply_days = 3", "reply_days = 0")
    path.write_text(zero, encoding="utf-8")
    with pytest.raises(InvalidInput, match="reply_days"):
        load_district(path)
