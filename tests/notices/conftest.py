"""Fixtures for the notice tests: a fresh SQLite database with one point and case, notice rows
of every kind, and (module-scoped, since fonts make PDFs slow) their rendered PDFs."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from cases.config import District, load_district
from cases.db import make_engine, migrate
from cases.models import Case, Notice, Point, Township
from workflow.notices import NOTICE_TITLES, TO_TOWNSHIP, NoticeKind

ISSUED = date(2026, 11, 23)
KEY = "test-secret"
CASE_KINDS = [k for k in NoticeKind if k is not NoticeKind.BULLETIN]


@pytest.fixture(scope="session", autouse=True)
def _font_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Cut fonts into a cache of this test session, not the user's."""
    old = os.environ.get("TUOYOU_FONT_CACHE")
    os.environ["TUOYOU_FONT_CACHE"] = str(tmp_path_factory.mktemp("fonts"))
    yield
    if old is None:
        os.environ.pop("TUOYOU_FONT_CACHE", None)
    else:
        os.environ["TUOYOU_FONT_CACHE"] = old


@pytest.fixture(scope="session")
def wuqing() -> District:
    return load_district(None)


def new_engine(path: Path) -> Engine:
    engine = make_engine("sqlite:///" + str(path / "t.db"))
    migrate(engine)
    return engine


@dataclass
class World:
    """A database with one township, point and case, and a maker of notice rows."""

    engine: Engine
    session: Session
    district: District
    case: Case
    point: Point
    township: Township
    seq: int = 0

    def notice(self, kind: NoticeKind | str, **overrides: Any) -> Notice:
        kind = NoticeKind(kind)
        self.seq += 1
        data = notice_data(self.district, kind, self.seq, self.case.id or 0)
        point_over = overrides.pop("point", None)
        if point_over:
            data["point"] = {**data["point"], **point_over}
        data.update(overrides)
        n = Notice(number=data["number"], district=self.district.district.code, kind=kind.value, year=2026,
                   seq=self.seq, case_id=self.case.id, addressee=data["addressee"], issuer=data["issuer"],
                   data=data, issued_on=ISSUED)
        self.session.add(n)
        self.session.commit()
        return n


def notice_data(district: District, kind: NoticeKind, seq: int, case_id: int) -> dict[str, Any]:
    number = f"{district.notices.prefixes[kind.value]}〔2026〕{seq}号"
    supervision = kind in (NoticeKind.SUPERVISION_NOTICE, NoticeKind.LISTED_SUPERVISION)
    to_township = supervision or kind in TO_TOWNSHIP  # e.g. the committee's 批复 answers the township
    items = []
    for code in ("F01", "T01"):
        it = district.item(code)
        assert it is not None
        items.append({"code": it.code, "title": it.title, "category": it.category, "severity": it.severity,
                      "result": "major" if code == "F01" else "fail", "requirement": it.requirement,
                      "basis": it.basis, "note": "疏散通道堆放杂物" if code == "F01" else ""})
    return {
        "title": NOTICE_TITLES[kind], "number": number, "issued_on": ISSUED.isoformat(),
        "issuer": district.district.committee if kind in TO_TOWNSHIP else district.district.bureau,
        "addressee": "梅厂镇人民政府" if to_township else "阳光托幼点（举办者：张三）",
        "point": {"name": "阳光托幼点", "address": "梅厂镇福源道18号", "operator": "张三", "phone": "13800000000",
                  "township": "梅厂镇", "township_code": "120114101", "registered_on": "2023-01-05"},
        "case_id": case_id, "round": 1, "round_max": 2, "state": "rectifying", "state_zh": "整改中",
        "deadline": "2026-12-21", "deadline_days": 20, "deadline_calendar": "workdays",
        "items": items, "reason": "经两轮整改消防隐患仍未消除", "target": "公办园" if kind in TO_TOWNSHIP else "",
        "level": 3 if kind is NoticeKind.LISTED_SUPERVISION else 1,
        "level_zh": "挂牌督办" if kind is NoticeKind.LISTED_SUPERVISION else "镇街督办",
        "overdue_days": 5, "missed_deadline": "2026-11-10", "missed_deadline_kind": "rectification",
        "township_unit": "梅厂镇人民政府", "actor": "李检查员", "contact": district.district.contact,
    }


def make_world(path: Path, district: District) -> World:
    engine = new_engine(path)
    session = Session(engine, expire_on_commit=False)
    town = Township(code="120114101", name="梅厂镇")
    session.add(town)
    session.flush()
    point = Point(name="阳光托幼点", township_id=town.id or 0, address="梅厂镇福源道18号", operator="张三",
                  registered_on=date(2023, 1, 5))
    session.add(point)
    session.flush()
    case = Case(point_id=point.id or 0, township_id=town.id or 0, state="rectifying", round=1,
                deadline=date(2026, 12, 21))
    session.add(case)
    session.commit()
    return World(engine=engine, session=session, district=district, case=case, point=point, township=town)


@pytest.fixture
def world(tmp_path: Path, wuqing: District) -> Iterator[World]:
    w = make_world(tmp_path, wuqing)
    yield w
    w.session.close()
    w.engine.dispose()


@dataclass
class Rendered:
    """Every case notice kind rendered once (in the worker pool), shared by a test module."""

    world: World
    notices: dict[str, Notice]
    paths: dict[str, Path]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, wuqing: District) -> Iterator[Rendered]:
    from cases.notices import render_notices

    base = tmp_path_factory.mktemp("rendered")
    w = make_world(base, wuqing)
    notices = {k.value: w.notice(k) for k in CASE_KINDS}
    paths = render_notices(w.session, list(notices.values()), wuqing, base / "out", processes=2, key=KEY)
    yield Rendered(world=w, notices=notices, paths=dict(zip(notices, paths, strict=True)))
    w.session.close()
    w.engine.dispose()


_FOOTER = re.compile(r"—\s*\d+\s*—|\S+〔\d{4}〕\d+号\s*验证码\s*\w{5}-\w{5}")


def pdf_text(path: Path | bytes, *, body_only: bool = False) -> str:
    """All text of a PDF, line breaks and spaces removed (wrapped lines join up again);
    `body_only` drops the page footers, so text running over a page break joins up too."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path) if isinstance(path, bytes) else path)
    pages = [page.extract_text() or "" for page in reader.pages]
    if body_only:
        pages = [_FOOTER.sub("", p) for p in pages]
    return "".join("".join(pages).split())


def page_count(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


Maker = Callable[..., Notice]


# -- samples of every kind from both sample districts (print and layout checks) -----------------------

DISTRICTS_DIR = Path(__file__).resolve().parents[2] / "cases" / "districts"
SAMPLE_DISTRICTS = ("wuqing", "shijingshan")
BULLETIN = "bulletin"


@dataclass
class Samples:
    """Every notice kind and the 督查通报 of one sample district, rendered once per test session."""

    district: District
    paths: dict[str, Path]  # kind → PDF


def _sample_world(path: Path, district: District) -> World:
    """A database with one point and case in the district's first township, and a few more
    cases (varied states, one overdue) so that the 督查通报 has figures, tables and charts."""
    engine = new_engine(path)
    session = Session(engine, expire_on_commit=False)
    towns = [Township(code=t.code, name=t.name) for t in district.townships]
    session.add_all(towns)
    session.flush()
    cases = []
    for i, state in enumerate(("rectifying", "overdue", "filed", "closed", "under_review", "banned")):
        town = towns[i % len(towns)]
        point = Point(name=f"{town.name}阳光托幼点" if i else "阳光托幼点", township_id=town.id or 0,
                      address=f"{town.name}福源道{18 + i}号", operator="张三", registered_on=date(2023, 1, 5))
        session.add(point)
        session.flush()
        case = Case(point_id=point.id or 0, township_id=town.id or 0, state=state, round=1,
                    deadline=date(2026, 11, 10) if state == "overdue" else date(2026, 12, 21),
                    escalation_level=2 if state == "overdue" else 0)
        session.add(case)
        session.flush()
        cases.append((case, point))
    session.commit()
    case, point = cases[0]
    return World(engine=engine, session=session, district=district, case=case, point=point, township=towns[0])


def render_samples(base: Path, district: District) -> Samples:
    from cases.notices import render_notices
    from cases.notices.report import issue_bulletin

    w = _sample_world(base, district)
    town = district.townships[0]
    unit = town.unit or town.name
    notices = {}
    for kind in CASE_KINDS:
        n = w.notice(kind)
        data = dict(n.data)
        data["point"] = {**data["point"], "township": town.name, "township_code": town.code,
                         "address": f"{town.name}福源道18号"}
        data["township_unit"] = unit
        if kind in (NoticeKind.SUPERVISION_NOTICE, NoticeKind.LISTED_SUPERVISION):
            data["addressee"] = n.addressee = unit
        n.data = data
        notices[kind.value] = n
    # sealed at a fixed time: the printed fingerprint, and so the layout, are the same on every run
    notices[BULLETIN] = issue_bulletin(w.session, district, "week", today=date(2026, 11, 25),
                                       now=datetime(2026, 11, 25, 1, 0, tzinfo=UTC))
    w.session.commit()
    paths = render_notices(w.session, list(notices.values()), district, base / "out", processes=1, key=KEY)
    w.session.close()
    w.engine.dispose()
    return Samples(district=district, paths=dict(zip(notices, paths, strict=True)))


@pytest.fixture(scope="session")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Samples]:
    """district name → its samples; rendered once per session (fonts are cut once too)."""
    out = {}
    for name in SAMPLE_DISTRICTS:
        district = load_district(DISTRICTS_DIR / f"{name}.toml")
        out[name] = render_samples(tmp_path_factory.mktemp(f"samples-{name}"), district)
    return out
