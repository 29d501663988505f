"""文号 per issuing body: the committee's notices run in its own series beside the bureau's (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, col, select

from cases import audit
from cases.config import DEMO_DISTRICT, District, load_district
from cases.errors import InvalidInput
from cases.models import Notice
from cases.serving import deliver
from scheduler.sweeps import sweep
from tests.cases.test_invariants import check_numbers
from tests.conftest import Driver, People, district_file
from tests.scheduler.conftest import at, days, rectifying_case

SUPERVISION = ("supervision_notice", "listed_supervision")


def _notices(session: Session, case_id: int | None, kinds: tuple[str, ...] = SUPERVISION) -> list[Notice]:
    q = select(Notice).where(Notice.case_id == case_id, col(Notice.kind).in_(kinds)).order_by(col(Notice.id))
    return list(session.exec(q).all())


def test_the_committee_numbers_its_own_notices_and_the_bureau_series_runs_on(
        engine: sa.Engine, district: District, driver: Driver, people: People, session: Session) -> None:
    info = district.district
    ladder = rectifying_case(driver, date(2026, 11, 6))  # 镇街督办 11-09, 区教育局督办 11-13, 挂牌督办 11-20
    late = driver.open(now=at(date(2026, 11, 2), 8))  # approval due 11-09: the committee's 督办 on 11-10
    driver.do(late, "start_review", now=at(date(2026, 11, 2), 9))
    driver.do(late, "propose_filing", now=at(date(2026, 11, 2), 10))
    later = rectifying_case(driver, date(2026, 11, 20))  # 镇街督办 on 11-23, after the committee's two notices
    for day in days(date(2026, 11, 3), date(2026, 11, 24)):
        sweep(engine, district, at(day), deliver=False)

    def seen(case_id: int | None) -> list[tuple[str, str, str, str, date]]:
        return [(n.kind, n.series, n.number, n.issuer, n.issued_on) for n in _notices(session, case_id)]

    assert seen(ladder.id) == [
        ("supervision_notice", "", "武清教督〔2026〕1号", info.bureau, date(2026, 11, 9)),
        ("supervision_notice", "", "武清教督〔2026〕2号", info.bureau, date(2026, 11, 13)),
        ("listed_supervision", "committee", "武清学前委挂督〔2026〕1号", info.committee, date(2026, 11, 20)),
    ]
    assert seen(late.id) == [
        ("supervision_notice", "committee", "武清学前委督〔2026〕1号", info.committee, date(2026, 11, 10))]
    assert seen(later.id) == [("supervision_notice", "", "武清教督〔2026〕3号", info.bureau, date(2026, 11, 23))]
    # the number printed on the paper is the number on record
    for n in _notices(session, ladder.id) + _notices(session, late.id):
        assert n.data["number"] == n.number and n.data["issuer_ref"] == ("committee" if n.series else "bureau")
    with engine.connect() as conn:
        counters = set(conn.execute(sa.text("SELECT kind, series, last FROM notice_counter"
                                            " WHERE kind IN ('supervision_notice', 'listed_supervision')")))
    assert counters == {("supervision_notice", "", 3), ("supervision_notice", "committee", 1),
                        ("listed_supervision", "committee", 1)}

    # a 送达回证 is the record of the body that serves the notice, which is the body that issued it
    [listed] = _notices(session, ladder.id, ("listed_supervision",))
    first = _notices(session, ladder.id)[0]
    served = [deliver(session=session, district=district, number=n.number, method="direct",
                      served_on=date(2026, 11, 24), actor=people.inspector, now=at(date(2026, 11, 24), 15))
              for n in (listed, first)]
    assert [s.receipt.number for s in served] == ["武清学前委送〔2026〕1号", "武清教送〔2026〕1号"]
    rows = {n.number: n for n in session.exec(select(Notice).where(Notice.kind == "service_receipt")).all()}
    committee_receipt, bureau_receipt = rows["武清学前委送〔2026〕1号"], rows["武清教送〔2026〕1号"]
    assert (committee_receipt.series, committee_receipt.issuer, committee_receipt.data["contact"]) == (
        "committee", info.committee, info.committee_contact)
    assert committee_receipt.data["served_number"] == listed.number
    assert committee_receipt.data["served_issuer"] == info.committee
    assert (bureau_receipt.series, bureau_receipt.issuer, bureau_receipt.data["served_number"]) == (
        "", info.bureau, first.number)
    check_numbers(engine)
    with Session(engine) as s:  # a fresh session: the sweeps changed the cases in their own
        assert audit.verify(s) == []


def test_a_body_without_its_own_prefix_numbers_in_the_kinds_common_series(district: District) -> None:
    notices = district.notices
    assert notices.numbering("listed_supervision", "committee") == ("committee", "武清学前委挂督")
    assert notices.numbering("listed_supervision", "bureau") == ("", "武清教挂督")
    assert notices.numbering("designation_approval", "committee") == ("", "武清学前委批")  # the committee's already
    assert notices.numbering("bulletin", "committee") == ("", "武清教通")
    bare = notices.model_copy(update={"issuer_prefixes": {}})
    assert bare.numbering("listed_supervision", "committee") == ("", "武清教挂督")


@pytest.mark.parametrize("name", ["wuqing", "shijingshan"])
def test_each_sample_district_gives_the_committee_the_prefixes_of_what_it_issues(name: str) -> None:
    d = load_district(DEMO_DISTRICT.parent / f"{name}.toml")
    issued = {("listed_supervision", d.supervision.level3.issuer),
              ("supervision_notice", d.supervision.approval.issuer), ("service_receipt", "committee")}
    own = {kind: d.notices.numbering(kind, body) for kind, body in issued}
    assert all(series == "committee" for series, _prefix in own.values()), own
    # one 代字 for the body: its own prefixes and its 批复 share the stem, which is not the bureau's
    stem = d.notices.prefixes["designation_approval"].removesuffix("批")
    bureau_stem = d.notices.prefixes["supervision_notice"].removesuffix("督")
    assert all(p.startswith(stem) and not p.startswith(bureau_stem) for _s, p in own.values()), (stem, own)


_OWN = "notices.issuer_prefixes.committee"


@pytest.mark.parametrize("old,new,key", [
    ("[notices.issuer_prefixes.committee]", "[notices.issuer_prefixes.comittee]", "notices.issuer_prefixes.comittee"),
    ("[notices.issuer_prefixes.committee]", "[notices.issuer_prefixes.township]", "notices.issuer_prefixes.township"),
    ('listed_supervision = "武清学前委挂督"', 'listed_supervison = "武清学前委挂督"',
     f"{_OWN}.listed_supervison"),
    ('supervision_notice = "武清学前委督"', 'supervision_notice = " "', f"{_OWN}.supervision_notice"),
    ('supervision_notice = "武清学前委督"', "supervision_notice = 7", f"{_OWN}.supervision_notice"),
    # the same prefix in two series would print the same 文号 twice
    ('service_receipt = "武清学前委送"', 'service_receipt = "武清教送"', f"{_OWN}.service_receipt"),
    ('listed_supervision = "武清学前委挂督"', 'listed_supervision = "武清学前委督"', f"{_OWN}.supervision_notice"),
])
def test_a_bad_issuer_prefix_table_is_refused_at_load_naming_the_key(tmp_path: Path, old: str, new: str,
                                                                     key: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        load_district(district_file(tmp_path, old, new))
    assert key in exc.value.zh and key in exc.value.en, exc.value.en
