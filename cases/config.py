"""The district configuration (one TOML file) and the process settings (environment).

A district is configuration, not code: its name, units, townships, deadlines, ladder,
notice number prefixes, checklist and the campaign's cut-off date all come from a TOML
file read into the typed models below. `Settings` holds what the process needs to start
(database URL, which district file), read from `TUOYOU_*` environment variables.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from workflow.policy import Policy
from workflow.workdays import WorkCalendar

_LOGGER = logging.getLogger(__name__)

DISTRICTS_DIR = Path(__file__).parent / "districts"
DEMO_DISTRICT = DISTRICTS_DIR / "wuqing.toml"

Severity = Literal["general", "serious", "major"]
ItemResult = Literal["pass", "fail", "major", "na"]
SEVERITIES: tuple[Severity, ...] = ("general", "serious", "major")
ITEM_RESULTS: tuple[ItemResult, ...] = ("pass", "fail", "major", "na")
MAX_DEADLINE_DAYS = 366  # no deadline, reminder or ladder rung of a district runs longer than a year


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DistrictInfo(_Strict):
    """Who the district is: names of the units that issue and receive notices."""

    code: str
    name: str  # 天津市武清区
    short: str  # 武清 (used in notice numbers)
    bureau: str  # 天津市武清区教育局
    bureau_short: str = "区教育局"  # how the notices' running text names the bureau (石景山: 区教委)
    bureau_office: str = "学前教育科"
    committee: str  # 区专项工作委员会
    committee_office: str = ""  # the committee's office, when it issues in the committee's name
    committee_contact: str = ""  # unit and phone of the committee's contact (its 督办 notices)
    government: str = ""  # 天津市武清区人民政府
    supervision_office: str = ""  # the district government's supervision office (区政府督查室)
    campaign: str = "民办托幼点整治专项行动"
    campaign_start: date
    cutoff: date  # points first registered after this date are never filed
    contact: str = ""
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"未知的时区 / unknown time zone {v!r} (e.g. Asia/Shanghai)") from None
        return v

    @field_validator("campaign_start", "cutoff")
    @classmethod
    def _plausible_date(cls, v: date) -> date:
        if not (date(1949, 10, 1) <= v <= date(2999, 12, 31)):
            raise ValueError(f"日期不在合理范围 / date out of range: {v}")
        return v


class Township(_Strict):
    code: str
    name: str
    lead_unit: str = ""  # e.g. 杨村街道办事处; defaults to "<name>人民政府"

    @property
    def unit(self) -> str:
        if self.lead_unit:
            return self.lead_unit
        suffix = "办事处" if self.name.endswith("街道") else "人民政府"
        return f"{self.name}{suffix}"


class ChecklistItem(_Strict):
    code: str
    title: str
    category: str
    severity: Severity = "general"
    major_capable: bool = False  # can be marked as a 重大安全隐患
    requirement: str = ""  # what the operator must do to fix it
    basis: str = ""  # legal or policy basis


class Vocabulary(_Strict):
    """The district's words for checklist results and item severities.

    The web pages and the notices both read them from here, so an item's severity (how soon it
    must be fixed) is never worded like the 重大安全隐患 result (which allows stopping the point).
    """

    results: dict[ItemResult, str] = Field(
        default_factory=lambda: {"pass": "合格", "fail": "不合格", "major": "重大隐患", "na": "不适用"})
    severities: dict[Severity, str] = Field(
        default_factory=lambda: {"general": "一般", "serious": "较重", "major": "严重"})
    severity_label: str = "问题等级"  # 不合格（问题等级：严重）

    @model_validator(mode="after")
    def _complete_and_distinct(self) -> Vocabulary:
        for name, words, keys in (("results", self.results, ITEM_RESULTS), ("severities", self.severities, SEVERITIES)):
            missing = [k for k in keys if not (words.get(k) or "").strip()]  # type: ignore[call-overload]
            if missing:
                raise ValueError(f"vocabulary.{name} needs a word for {missing}")
        words = [*self.results.values(), *self.severities.values()]
        if len(set(words)) != len(words):
            raise ValueError(f"vocabulary words must all differ: {words}")
        hazard = self.results["major"]
        for sev, word in self.severities.items():
            if word in hazard or hazard in word:
                raise ValueError(f"vocabulary: severity {sev} = {word!r} reads like the major-hazard result "
                                 f"{hazard!r}; choose another word (e.g. 严重)")
        return self


class Deadlines(_Strict):
    """Deadlines in working days (or calendar days when `calendar = "calendar"`)."""

    calendar: Literal["workdays", "calendar"] = "workdays"
    review: int = 10
    rectification: dict[Severity, int] = Field(
        default_factory=lambda: {"general": 20, "serious": 10, "major": 5}
    )
    cessation: int = 15
    enforcement: int = 10
    approval: int = 5
    complaint_reply: int = 5  # 12345 接诉即办: days to reply to the hotline about a 工单

    @field_validator("review", "cessation", "enforcement", "approval", "complaint_reply")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("期限须为正整数 / deadline must be a positive number of days")
        if v > MAX_DEADLINE_DAYS:
            raise ValueError(f"期限不能超过 {MAX_DEADLINE_DAYS} 天 / a deadline of at most {MAX_DEADLINE_DAYS} days")
        return v

    @field_validator("rectification")
    @classmethod
    def _all_severities(cls, v: dict[str, int]) -> dict[str, int]:
        missing = {"general", "serious", "major"} - set(v)
        if missing:
            raise ValueError(f"rectification deadlines missing for {sorted(missing)}")
        if any(d <= 0 for d in v.values()):
            raise ValueError("期限须为正整数 / deadline must be a positive number of days")
        if any(d > MAX_DEADLINE_DAYS for d in v.values()):
            raise ValueError(f"期限不能超过 {MAX_DEADLINE_DAYS} 天 / a deadline of at most {MAX_DEADLINE_DAYS} days")
        return v


class Ladder(_Strict):
    """The supervision ladder (多层级督查督办), in working days relative to a deadline."""

    reminders: list[int] = Field(default_factory=lambda: [5, 3, 1])
    level1: int = 1  # first working day after the deadline
    level2: int = 5
    level3: int = 10
    approval_escalation: int = 1  # working days after an approval deadline → committee

    @field_validator("reminders")
    @classmethod
    def _reminders(cls, v: list[int]) -> list[int]:
        if any(d <= 0 or d > MAX_DEADLINE_DAYS for d in v):
            raise ValueError(f"提醒天数须在 1 到 {MAX_DEADLINE_DAYS} 之间 / reminders must be 1…{MAX_DEADLINE_DAYS}"
                             " working days before a deadline")
        if len(set(v)) != len(v):
            raise ValueError("提醒天数不能重复 / reminders must not repeat")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> Ladder:
        if not (0 < self.level1 < self.level2 < self.level3):
            raise ValueError("ladder thresholds must rise: 0 < level1 < level2 < level3")
        if self.level3 > MAX_DEADLINE_DAYS or not (0 < self.approval_escalation <= MAX_DEADLINE_DAYS):
            raise ValueError(f"督办阈值须在 1 到 {MAX_DEADLINE_DAYS} 之间 / ladder thresholds must be "
                             f"1…{MAX_DEADLINE_DAYS} working days")
        return self


UnitRef = Literal["township", "bureau", "committee", "committee_office", "government", "supervision_office"]


class SupervisionRung(_Strict):
    """One 督办 notice: its name, who issues it, to whom, copied to whom, and the days given to reply."""

    name: str  # 镇街督办
    issuer: UnitRef = "bureau"
    addressee: UnitRef = "township"
    cc: list[UnitRef] = Field(default_factory=list)
    reply_days: int = 5  # the reply is due this many (working) days after the notice is issued

    @field_validator("reply_days")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("reply_days 须为正整数 / reply_days must be a positive number of days")
        return v


class Supervision(_Strict):
    """Who issues each 督办 notice to whom (DESIGN §3); each rung can be changed by the district."""

    level1: SupervisionRung = SupervisionRung(name="镇街督办")
    level2: SupervisionRung = SupervisionRung(name="区教育局督办", cc=["supervision_office"])
    level3: SupervisionRung = SupervisionRung(name="挂牌督办", issuer="committee", cc=["bureau"], reply_days=10)
    approval: SupervisionRung = SupervisionRung(name="审批超期督办", issuer="committee", addressee="bureau",
                                                reply_days=3)

    def rung(self, level: int | str) -> SupervisionRung:
        """The rung of ladder level 1–3, or "approval" (a late approval)."""
        return {1: self.level1, 2: self.level2, 3: self.level3, "approval": self.approval}[level]

    def refs(self) -> set[str]:
        return {ref for r in (self.level1, self.level2, self.level3, self.approval)
                for ref in (r.issuer, r.addressee, *r.cc)}


class Law(_Strict):
    """Legal citations printed on adverse notices, kept by the bureau's legal office (法制科).

    Article numbers are facts of the law, not of the code: a district corrects them here.
    """

    empowering: str = "《幼儿园管理条例》第二十七条"  # empowers the bureau to order 整顿, 停止招生, 停止办园
    empowering_text: str = ""  # the article's words, quoted where the notice cites it
    unregistered: str = "《幼儿园管理条例》第十一条"  # the norm an unregistered point violates
    campaign: str = ""  # the campaign's own basis (the district's plan), cited for 不予备案
    campaign_text: str = ""  # the plan's words on filing, quoted with it
    procedure: str = "《中华人民共和国行政处罚法》第四十四条、第四十五条、第六十三条、第六十四条"  # intent and hearing
    decision: str = "《中华人民共和国行政处罚法》第五十九条"  # what a decision must state
    hearing_days: int = 5  # 陈述、申辩 and 听证 requested within these working days of service (第六十四条、第八十五条)
    review_body: str = ""  # 行政复议机关; the district's 人民政府 when empty
    review_days: int = 60
    review_law: str = "《中华人民共和国行政复议法》"
    court: str  # the 人民法院 that hears suits against the bureau
    litigation_months: int = 6
    litigation_law: str = "《中华人民共和国行政诉讼法》第四十六条"

    @field_validator("hearing_days", "review_days", "litigation_months")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("期限须为正整数 / a time limit must be positive")
        return v


class Service(_Strict):
    """Service of notices (送达): which kinds must be served, and when an unserved one is reminded."""

    kinds: list[str] = Field(default_factory=lambda: [
        "rectification_order", "reinspection_opinion", "refusal_notice", "filing_receipt", "suspension_order",
        "penalty_intent", "ban_decision"])
    remind_after_days: int = 3  # working days after issue

    @field_validator("remind_after_days")
    @classmethod
    def _positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("remind_after_days 须为正整数 / must be positive")
        return v


class Rounds(_Strict):
    max: int = 2

    @field_validator("max")
    @classmethod
    def _at_least_one(cls, v: int) -> int:
        if not (1 <= v <= 10):
            raise ValueError("整改轮次须在 1 到 10 之间 / max rounds must be 1…10")
        return v


class Fonts(_Strict):
    """Font families for notices (CSS font-family lists, the first installed wins); licensed 方正 fonts can
    go first. GB/T 9704: 仿宋 body, 小标宋 title, 黑体 一、 headings, 楷体 （一） headings. Debian packages
    no free 仿宋 GB face, so the body falls back to a 宋体-style face; 楷体: fonts-arphic-ukai/-gkai00mp."""

    body: str = ('"FangSong", "FangSong_GB2312", "仿宋_GB2312", "STFangsong", "FZFangSong-Z02", "Noto Serif CJK SC", '
                 '"WenQuanYi Micro Hei", serif')
    title: str = '"FZXiaoBiaoSong-B05", "STZhongsong", "Noto Serif CJK SC", "WenQuanYi Micro Hei", serif'
    heading: str = '"SimHei", "FZHei-B01", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif'
    kaiti: str = ('"KaiTi", "KaiTi_GB2312", "楷体_GB2312", "STKaiti", "FZKai-Z03", "AR PL UKai CN", "AR PL KaitiM GB", '
                  '"Noto Serif CJK SC", "WenQuanYi Micro Hei", serif')


IssuerRef = Literal["bureau", "committee", "committee_office", "government", "supervision_office"]


class Notices(_Strict):
    """Notice numbers: `<prefix>〔<year>〕<n>号`, gap-free per series: district, kind, issuing body and year.

    A 文号 belongs to the body that issues the notice: its prefix carries the body's 发文机关代字 and
    its number runs in that body's series. `prefixes` gives every kind a prefix and a common series;
    `issuer_prefixes` gives a body its own prefix, and so its own series, for a kind it issues
    (the committee's 挂牌督办 and 审批超期督办 where the bureau issues the other 督办 notices).
    A body without its own prefix for a kind numbers in the kind's common series.
    """

    prefixes: dict[str, str]
    issuer_prefixes: dict[IssuerRef, dict[str, str]] = Field(default_factory=dict)
    fonts: Fonts = Field(default_factory=Fonts)
    verify_url: str = ""  # optional public URL for the QR code; the code works without it

    @model_validator(mode="after")
    def _prefixes_known_and_distinct(self) -> Notices:
        from workflow.notices import NOTICE_KINDS

        keys = {f"notices.prefixes.{kind}": prefix for kind, prefix in self.prefixes.items()}
        for body, table in self.issuer_prefixes.items():
            for kind, prefix in table.items():
                key = f"notices.issuer_prefixes.{body}.{kind}"
                if kind not in NOTICE_KINDS:
                    raise ValueError(f"{key}: 未知的文书种类 / unknown notice kind {kind!r} "
                                     f"(known: {', '.join(NOTICE_KINDS)})")
                keys[key] = prefix
        seen: dict[str, str] = {}
        for key, prefix in keys.items():
            if not prefix.strip():
                raise ValueError(f"{key}: 文号前缀不能为空 / a notice number prefix must not be blank")
            if prefix in seen:
                raise ValueError(f"{key}: 文号前缀 {prefix!r} 与 {seen[prefix]} 重复，两个序列会编出相同的文号 / "
                                 f"prefix {prefix!r} is also {seen[prefix]}; two series would print the same numbers")
            seen[prefix] = key
        return self

    def numbering(self, kind: str, issuer_ref: str) -> tuple[str, str]:
        """The series and prefix of a `kind` notice issued by `issuer_ref` (bureau, committee, …).

        The body's own (series = the body) when the district gives it one, else the kind's common one (series "").
        """
        own = self.issuer_prefixes.get(issuer_ref, {}).get(kind)  # type: ignore[call-overload]
        return (issuer_ref, own) if own else ("", self.prefixes[kind])


class Mail(_Strict):
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "tuoyou@localhost"
    username: str = ""
    password: str = ""
    starttls: bool = False
    enabled: bool = False


class Webhook(_Strict):
    url: str = ""
    kind: Literal["wecom", "dingtalk"] = "wecom"
    enabled: bool = False


class CalendarOverrides(_Strict):
    """Extra holidays and make-up workdays, for years the bundled calendar does not know yet."""

    holidays: list[date] = Field(default_factory=list)
    workdays: list[date] = Field(default_factory=list)


class Indicators(_Strict):
    """Targets for the plans' three rates (三率), in percent, and the plan that sets them."""

    gross_enrolment: float  # 学前三年毛入园率 ≥ …%
    inclusive_coverage: float  # 普惠性幼儿园覆盖率 ≥ …%
    public_share: float  # 公办园在园幼儿占比 ≥ …%
    target_year: int | None = None  # the year the plan's targets are due
    plan: str = ""  # the plan that sets them, for the dashboard and the 督查通报

    @field_validator("gross_enrolment", "inclusive_coverage", "public_share")
    @classmethod
    def _percent(cls, v: float) -> float:
        if not 0 < v <= 100:
            raise ValueError("目标须为 0 到 100 之间的百分数 / targets are percentages between 0 and 100")
        return v


class District(_Strict):
    """One district's whole configuration, as read from its TOML file."""

    district: DistrictInfo
    townships: list[Township]
    checklist: list[ChecklistItem]
    deadlines: Deadlines = Field(default_factory=Deadlines)
    rounds: Rounds = Field(default_factory=Rounds)
    ladder: Ladder = Field(default_factory=Ladder)
    notices: Notices
    mail: Mail = Field(default_factory=Mail)
    webhook: Webhook = Field(default_factory=Webhook)
    calendar: CalendarOverrides = Field(default_factory=CalendarOverrides)
    vocabulary: Vocabulary = Field(default_factory=Vocabulary)
    supervision: Supervision = Field(default_factory=Supervision)
    indicators: Indicators | None = None  # the three rates' targets; none → shown without targets
    law: Law
    service: Service = Field(default_factory=Service)

    @model_validator(mode="after")
    def _consistent(self) -> District:
        codes = [t.code for t in self.townships]
        if len(set(codes)) != len(codes):
            raise ValueError("township codes must be unique")
        if not self.townships:
            raise ValueError("a district needs at least one township")
        items = [c.code for c in self.checklist]
        if len(set(items)) != len(items):
            raise ValueError("checklist codes must be unique")
        if not self.checklist:
            raise ValueError("a district needs a checklist")
        from workflow.notices import NOTICE_KINDS

        missing = set(NOTICE_KINDS) - set(self.notices.prefixes)
        if missing:
            raise ValueError(f"notice prefixes missing for {sorted(missing)}")
        if not (self.law.review_body or self.district.government):
            raise ValueError("[law] review_body (or [district] government) must name the 行政复议机关")
        unknown_kinds = sorted(set(self.service.kinds) - set(NOTICE_KINDS))
        if unknown_kinds:
            raise ValueError(f"[service] kinds names unknown notice kinds: {unknown_kinds}")
        unnamed = sorted(ref for ref in self.supervision.refs() - {"township"} if not self.unit_name(ref))
        if unnamed:
            raise ValueError(f"[supervision] names units the [district] section does not name: {unnamed}")
        return self

    # -- derived views ---------------------------------------------------------------------

    def township(self, code: str) -> Township | None:
        return next((t for t in self.townships if t.code == code), None)

    def item(self, code: str) -> ChecklistItem | None:
        return next((c for c in self.checklist if c.code == code), None)

    def result_zh(self, result: str) -> str:
        """The district's word for a checklist result (pass, fail, major, na)."""
        return self.vocabulary.results.get(result, result)  # type: ignore[call-overload,no-any-return]

    def severity_zh(self, severity: str) -> str:
        """The district's word for an item's severity (general, serious, major)."""
        return self.vocabulary.severities.get(severity, severity)  # type: ignore[call-overload,no-any-return]

    def unit_name(self, ref: str, township_unit: str = "") -> str:
        """The full name of a unit named in config by its role (`bureau`, `committee`, …)."""
        info = self.district
        return {"township": township_unit, "bureau": info.bureau, "committee": info.committee,
                "committee_office": info.committee_office, "government": info.government,
                "supervision_office": info.supervision_office}.get(ref, "")

    def unit_ref(self, name: str) -> str:
        """The role (`bureau`, `committee`, …) of the unit the district names `name`; "" when none is."""
        return next((ref for ref in get_args(IssuerRef) if name and self.unit_name(ref) == name), "")

    @property
    def review_body(self) -> str:
        """The body that hears an application for 行政复议 against the bureau."""
        return self.law.review_body or self.district.government

    def unit_contact(self, ref: str) -> str:
        """Unit and phone to contact about a notice issued by `ref` (the committee's, else the bureau's)."""
        info = self.district
        if ref in ("committee", "committee_office"):
            return info.committee_contact or info.contact
        return info.contact

    def policy(self) -> Policy:
        """The numbers the pure workflow needs, taken from this district (built once)."""
        return self.cached_policy

    def work_calendar(self) -> WorkCalendar:
        """The district's working-day calendar (built once)."""
        return self.cached_calendar

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> District:
        """A copy whose derived views are built again from its own values."""
        copy = super().model_copy(update=update, deep=deep)
        for name in ("cached_policy", "cached_calendar"):
            copy.__dict__.pop(name, None)
        return copy

    @cached_property
    def cached_policy(self) -> Policy:
        return Policy(
            max_rounds=self.rounds.max,
            cutoff=self.district.cutoff,
            checklist=tuple(c.code for c in self.checklist),
            major_capable=frozenset(c.code for c in self.checklist if c.major_capable),
            severity={c.code: c.severity for c in self.checklist},
            review_days=self.deadlines.review,
            rectification_days=dict(self.deadlines.rectification),
            cessation_days=self.deadlines.cessation,
            enforcement_days=self.deadlines.enforcement,
            approval_days=self.deadlines.approval,
        )

    @cached_property
    def cached_calendar(self) -> WorkCalendar:
        return WorkCalendar(
            mode=self.deadlines.calendar,
            extra_holidays=frozenset(self.calendar.holidays),
            extra_workdays=frozenset(self.calendar.workdays),
        )


def _config_errors(exc: ValidationError) -> str:
    """Pydantic's errors as `key.path: message` lines, naming the key in the TOML file."""
    lines = []
    for e in exc.errors()[:10]:
        loc = ".".join(str(p) for p in e.get("loc", ()))
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        if loc and msg.startswith(f"{loc}."):  # the check named the key inside its section itself
            lines.append(f"  {msg}")
        else:
            lines.append(f"  {loc or '(文件 / file)'}: {msg}")
    more = len(exc.errors()) - 10
    if more > 0:
        lines.append(f"  …另有 {more} 处 / {more} more")
    return "\n".join(lines)


def load_district(path: str | Path | None = None) -> District:
    """Read and validate a district TOML file (the built-in demo district when None).

    Every problem is reported here, at load, with the key it concerns: a missing file, a
    directory, a file not in UTF-8, bad TOML, and values out of range (time zone, deadlines,
    reminders, ladder). Suspicious but valid settings are logged by `district_warnings`.
    """
    from cases.errors import InvalidInput

    p = Path(path) if path else DEMO_DISTRICT
    try:
        text = p.read_bytes().decode("utf-8")
        raw = tomllib.loads(text.removeprefix("\ufeff"))
    except FileNotFoundError as exc:
        raise InvalidInput(f"找不到区县配置文件 {p}", f"district config file {p} not found") from exc
    except IsADirectoryError as exc:
        raise InvalidInput(f"区县配置 {p} 是目录，应为 TOML 文件", f"district config {p} is a directory, "
                           "not a TOML file") from exc
    except PermissionError as exc:
        raise InvalidInput(f"无权读取区县配置文件 {p}", f"cannot read district config {p}: permission denied") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"区县配置文件 {p} 不是 UTF-8 编码（第 {exc.start} 字节；如为 GBK，请另存为 UTF-8）",
                           f"district config {p} is not UTF-8 (byte {exc.start}; save it as UTF-8, "
                           "not GBK)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"区县配置文件 {p} 格式错误：{exc}",
                           f"district config {p} is not valid TOML: {exc}") from exc
    try:
        district = District.model_validate(raw)
    except ValidationError as exc:
        detail = _config_errors(exc)
        raise InvalidInput(f"区县配置文件 {p} 内容有误：\n{detail}",
                           f"district config {p} is invalid:\n{detail}") from exc
    for zh, en in district_warnings(district):
        _LOGGER.warning("%s: %s / %s", p, zh, en)
    return district


def district_warnings(district: District, today: date | None = None) -> list[tuple[str, str]]:
    """Valid but suspicious settings, in Chinese and English (`tuoyou init` prints them)."""
    info = district.district
    today = today or date.today()
    out = []
    if info.cutoff > today:
        out.append((f"district.cutoff（{info.cutoff}）晚于今天：截止日期之后登记的托幼点不予立案，请确认",
                    f"district.cutoff ({info.cutoff}) is in the future; points registered after it are never filed"))
    if info.cutoff < info.campaign_start:
        out.append((f"district.cutoff（{info.cutoff}）早于专项行动开始日期 campaign_start（{info.campaign_start}）",
                    f"district.cutoff ({info.cutoff}) is before district.campaign_start ({info.campaign_start})"))
    return out


class Settings(BaseSettings):
    """Process settings from the environment (`TUOYOU_DATABASE_URL`, `TUOYOU_CONFIG`, …)."""

    model_config = SettingsConfigDict(env_prefix="TUOYOU_", extra="ignore")

    database_url: str = "sqlite:///tuoyou.db"
    config: str | None = None
    data_dir: str = "tuoyou-data"  # rendered PDFs and uploaded evidence
    secret_key: str = "dev-insecure-secret"
    environment: Literal["development", "production"] = "development"

    @model_validator(mode="after")
    def _safe_in_production(self) -> Settings:
        if self.environment == "production" and self.secret_key == "dev-insecure-secret":
            raise ValueError("TUOYOU_SECRET_KEY must be set in production")
        return self


@lru_cache(maxsize=8)
def cached_district(path: str | None) -> District:
    return load_district(path)
