"""The demo district: users of every role and a few hundred points whose cases are spread over
every state, driven there through the real case service on a simulated clock.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from cases.config import District
from cases.errors import TuoyouError
from cases.models import Township, User
from cases.service import Action, advance, open_case
from cases.serving import deliver
from cases.users import add_user, hash_password, system_user

_LOGGER = logging.getLogger(__name__)

DEMO_PASSWORD = "tuoyou-demo"

_PREFIXES = ("阳光", "小太阳", "童心", "快乐", "蓝天", "彩虹", "贝贝", "启航", "育苗", "金色童年", "小天使",
             "春蕾", "智慧树", "七色花", "小树苗", "爱心", "乐乐", "星星", "向日葵", "小博士")
_KINDS = ("托幼点", "幼儿看护点", "托管班", "学前班", "亲子园")
_SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
_GIVEN = ("秀英", "桂英", "建华", "志强", "丽娟", "海燕", "春梅", "玉兰", "国庆", "红霞",
          "晓东", "文静", "立新", "淑珍", "振华", "雪梅", "宏伟", "建军", "美玲", "小红")
_VILLAGES = ("东", "西", "南", "北", "前", "后", "大", "小", "新", "老")

# The demo's spread of final states (weights) and the triggers that reach each.
_PATHS: dict[str, tuple[int, list[str]]] = {
    "registered": (8, []),
    "under_review": (10, ["start_review"]),
    "rectifying": (14, ["start_review", "order_rectification"]),
    "reinspecting": (6, ["start_review", "order_rectification", "request_reinspection"]),
    "overdue": (8, ["start_review", "order_rectification", "expire"]),
    "filing_proposed": (5, ["start_review", "propose_filing"]),
    "refusal_proposed": (3, ["start_review", "propose_refusal"]),
    "conversion_proposed": (3, ["start_review", "propose_conversion"]),
    "enforcement_proposed": (3, ["start_review", "order_rectification", "expire", "propose_enforcement"]),
    "closure_proposed": (3, ["start_review", "propose_closure"]),
    "refused": (4, ["start_review", "propose_refusal", "approve"]),
    "enforcement": (3, ["start_review", "suspend"]),
    "filed": (12, ["start_review", "order_rectification", "request_reinspection", "propose_filing", "approve"]),
    "converted": (5, ["start_review", "propose_conversion", "approve"]),
    "closed": (8, ["start_review", "propose_closure", "approve"]),
    "banned": (6, ["start_review", "suspend", "notify_intent", "confirm_ban"]),
}


@dataclass
class DemoUsers:
    inspectors: dict[int, User]
    leads: dict[int, User]
    reviewers: list[User]
    committee: User
    admin: User
    system: User


def _users(session: Session, district: District) -> DemoUsers:
    # one argon2 hash of the shared demo password serves every demo account (hashing is slow by design)
    demo_hash = hash_password(DEMO_PASSWORD)
    towns = {t.code: t for t in session.exec(select(Township)).all()}
    inspectors: dict[int, User] = {}
    leads: dict[int, User] = {}
    for i, cfg in enumerate(district.townships, start=1):
        t = towns[cfg.code]
        assert t.id is not None
        inspectors[t.id] = add_user(session, name=f"insp{i:02d}", role="inspector", township_code=cfg.code,
                                    password_hash=demo_hash, display_name=f"{cfg.name}检查员",
                                    email=f"insp{i:02d}@demo.invalid")
        leads[t.id] = add_user(session, name=f"lead{i:02d}", role="lead", township_code=cfg.code,
                               password_hash=demo_hash, display_name=f"{cfg.name}负责人",
                               email=f"lead{i:02d}@demo.invalid")
    reviewers = [add_user(session, name=f"reviewer{i}", role="reviewer", password_hash=demo_hash,
                          display_name=f"{district.district.bureau_short}审核员{i}",
                          email=f"reviewer{i}@demo.invalid") for i in (1, 2)]
    committee = add_user(session, name="committee", role="committee", password_hash=demo_hash,
                         display_name="专项工作委员会", email="committee@demo.invalid")
    admin = add_user(session, name="admin", role="admin", password_hash=demo_hash, display_name="系统管理员")
    return DemoUsers(inspectors, leads, reviewers, committee, admin, system_user(session))


def _action(trigger: str, rng: random.Random, district: District) -> Action:
    major_capable = [c.code for c in district.checklist if c.major_capable]
    codes = [c.code for c in district.checklist]
    if trigger == "order_rectification":
        return Action(trigger, failed=tuple(sorted(rng.sample(codes, rng.randint(1, 3)))))
    if trigger == "suspend":
        return Action(trigger, major=(rng.choice(major_capable),), reason="现场发现重大安全隐患，立即责令停止办园")
    if trigger == "propose_refusal":
        return Action(trigger, reason="场地及消防条件不符合备案条件", failed=(rng.choice(codes),))
    if trigger == "propose_conversion":
        return Action(trigger, reason="举办者申请转型升级", target=rng.choice(["普惠性民办幼儿园", "托育机构"]))
    if trigger == "propose_enforcement":
        return Action(trigger, reason="逾期拒不整改，隐患未消除")
    if trigger == "propose_closure":
        return Action(trigger, reason="举办者已自行停止办园")
    if trigger == "notify_intent":
        return Action(trigger, reason="经责令停止办园后仍未停止办园，重大安全隐患未消除")
    return Action(trigger)


def fill_demo(
    engine: Engine,
    district: District,
    *,
    points: int = 300,
    seed: int = 2026,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Create the demo users and `points` points, and drive their cases to a spread of states."""
    rng = random.Random(seed)
    tz = ZoneInfo(district.district.timezone)
    now = now or datetime.now(UTC)
    today = now.astimezone(tz).date()
    with Session(engine, expire_on_commit=False) as session:
        if session.exec(select(User).where(User.name == "admin")).first() is not None:
            raise TuoyouError("数据库中已有演示数据", "the database already holds the demo data")
        users = _users(session, district)
        towns = list(users.inspectors)
        names = [k for k in _PATHS]
        weights = [_PATHS[k][0] for k in names]
        counts: dict[str, int] = {}
        for i in range(points):
            town_id = towns[i % len(towns)]
            inspector = users.inspectors[town_id]
            town = session.get(Township, town_id)
            assert town is not None
            goal = rng.choices(names, weights)[0]
            path = _PATHS[goal][1]
            late_point = goal in ("registered", "under_review", "rectifying") and rng.random() < 0.1
            registered_on = (district.district.cutoff + timedelta(days=rng.randint(1, 300)) if late_point
                             else district.district.cutoff - timedelta(days=rng.randint(30, 1500)))
            # start so that running deadlines mostly still run, and overdue cases climb the ladder
            if "expire" in path or "notify_intent" in path:
                start = today - timedelta(days=rng.randint(45, 75))
            else:
                start = today - timedelta(days=len(path) * 4 + rng.randint(2, 12))
            name = f"{rng.choice(_PREFIXES)}{rng.choice(_KINDS)}"
            operator = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
            at = _at(start, tz, rng)
            case = open_case(
                session=session, district=district, actor=inspector,
                name=f"{town.name}{name}（{i + 1:03d}）", township_code=town.code,
                address=f"{town.name}{rng.choice(_VILLAGES)}{rng.choice('庄屯营坨店堡')}村{rng.randint(1, 200)}号",
                operator=operator, phone=f"13{rng.randint(100000000, 999999999)}",
                registered_on=min(registered_on, start), source=rng.choice(["registry"] * 8 + ["complaint", "patrol"]),
                now=at, basis=f"原备案台账第{i + 1}号（演示数据）",
            )
            day = start
            served_until = start
            assert case.id is not None
            for trigger in path:
                if trigger == "expire":
                    assert case.deadline is not None
                    day = max(day, case.deadline + timedelta(days=1))
                    actor = users.system
                elif trigger == "confirm_ban":  # after the party's time to be heard, counted from service
                    day = max(day, served_until + timedelta(days=1))
                    actor = users.reviewers[(i + 1) % 2]
                else:
                    day = day + timedelta(days=rng.randint(2, 8))
                    actor = (users.reviewers[i % 2] if trigger in ("approve", "send_back", "notify_intent")
                             else inspector)
                day = min(day, today)
                at = _at(day, tz, rng)
                try:
                    result = advance(session=session, district=district, case_id=case.id, actor=actor,
                                     action=_action(trigger, rng, district), now=at)
                except TuoyouError as exc:  # e.g. filing refused by the cut-off guard: stop there
                    _LOGGER.debug("demo case %s stops before %s: %s", case.id, trigger, exc.en)
                    break
                case = result.case
                # the inspector serves what was issued, a day or two later (deadlines then run from service)
                for notice in result.notices:
                    # some recent notices are still waiting to be served (their deadlines provisional)
                    if notice.kind not in district.service.kinds or (
                            trigger != "notify_intent" and (today - day).days < 10 and rng.random() < 0.5):
                        continue
                    served_on = min(day + timedelta(days=rng.randint(0, 2)), today)
                    try:
                        deliver(session=session, district=district, number=notice.number,
                                method=rng.choice(["direct"] * 6 + ["left", "mail"]), served_on=served_on,
                                actor=inspector, now=max(_at(served_on, tz, rng), at + timedelta(minutes=40)))
                    except TuoyouError as exc:
                        _LOGGER.debug("demo notice %s not served: %s", notice.number, exc.en)
                        continue
                    day = max(day, served_on)
                    served_until = district.work_calendar().add(served_on, district.law.hearing_days)
            counts[case.state] = counts.get(case.state, 0) + 1
            if progress:
                progress(i + 1, points)
        session.commit()
        _campaign(session, district, users, rng, today, tz)
    return counts


# -- the campaign around the cases: figures, estate kindergartens, the hotline ---------------------


def _campaign(session: Session, district: District, users: DemoUsers, rng: random.Random, today: date,
              tz: ZoneInfo) -> None:
    """Two years of township figures (the three rates), designation cases in every state, 12345 工单."""
    from cases.complaints import add_complaint, reply_complaint
    from cases.models import Case, Point, TownshipStat

    for t_id in users.leads:
        for year in (today.year - 2, today.year - 1):
            population = rng.randint(800, 3000)
            enrolled = int(population * rng.uniform(0.86, 0.99))
            public = int(enrolled * rng.uniform(0.38, 0.62))
            private = int((enrolled - public) * rng.uniform(0.55, 0.9))
            session.add(TownshipStat(township_id=t_id, year=year, population=population, enrolled=enrolled,
                                     public=public, inclusive_private=private, source="import",
                                     updated_by=users.reviewers[0].id, updated_at=_at(today, tz, rng)))
    session.commit()
    estates = ("家园", "花园", "新城", "雅苑", "名邸", "嘉园")
    paths = ([], ["apply"], ["apply", "review"], ["apply", "review", "approve"], ["apply", "review", "approve"])
    for i, (t_id, lead) in enumerate(list(users.leads.items())[:len(paths) * 2]):
        town = session.get(Township, t_id)
        assert town is not None
        start = today - timedelta(days=rng.randint(8, 20))
        case = open_case(session=session, district=district, actor=lead, name=f"{town.name}{rng.choice(estates)}"
                         "小区配套幼儿园", township_code=town.code, address=f"{town.name}{rng.choice(estates)}小区",
                         operator="", source="estate", workflow="designation", now=_at(start, tz, rng))
        actors = {"apply": lead, "review": users.reviewers[i % 2], "approve": users.committee}
        for n, trigger in enumerate(paths[i % len(paths)], start=1):
            try:
                advance(session=session, district=district, case_id=case.id, actor=actors[trigger],  # type: ignore[arg-type]
                        action=Action(trigger, target="公办园" if i % 3 else "普惠性民办园"),
                        now=_at(min(start + timedelta(days=2 * n), today), tz, rng))
            except TuoyouError as exc:  # e.g. the township's public share is under 50%: it stays where it is
                _LOGGER.debug("demo designation %s stops before %s: %s", case.id, trigger, exc.en)
                break
    filed = session.exec(select(Case.point_id, Case.township_id).where(Case.state == "filed")).all()[:3]
    running = session.exec(select(Case.point_id, Case.township_id).where(Case.state == "rectifying")).all()[:3]
    for n, (point_id, t_id) in enumerate([*filed, *running], start=1):
        received = today - timedelta(days=rng.randint(1, 9))
        number = f"GD{received:%Y%m%d}{n:04d}"
        point = session.get(Point, point_id)
        assert point is not None
        add_complaint(session, district, actor=users.inspectors[t_id], number=number,
                      summary=f"群众反映{point.name}存在超员、消防通道堵塞等问题", point_id=point_id,
                      received_on=received, now=_at(today, tz, rng))
        if n % 2:
            reply_complaint(session, district, actor=users.inspectors[t_id], number=number,
                            text="已安排检查员现场核查，依法责令整改，整改结果将及时反馈。", now=_at(today, tz, rng))


def _at(day: date, tz: ZoneInfo, rng: random.Random) -> datetime:
    return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), tz).astimezone(UTC)

