"""One file per point (一点一档): the duplicate check, and the basis of a registration date.

A point is a likely duplicate of an earlier one in the district when their names and addresses
are the same, or their operators and (non-empty) phone numbers are, once whitespace, full-width
forms and punctuation are set aside. `find_duplicates` is the check for one registration (the web
form, `point add`); `DuplicateIndex` answers the same question for many rows at once (a registry
import), also between rows of the same file. Matches against a banned or closed case do not stop
a registration: they flag it ("曾被取缔/停办") on both cases.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from cases.config import District
from cases.errors import Conflict, InvalidInput
from cases.models import Case, CaseLink, Point, Township
from cases.statements import Prepared

_LOGGER = logging.getLogger(__name__)

# states of an earlier case whose point a new registration may legitimately be (it reappeared)
ENDED_STATES: dict[str, str] = {"banned": "曾被取缔", "closed": "曾停办"}
MATCH_ZH = {"place": "名称和地址相同", "contact": "举办者和联系电话相同"}
LINK_ZH = {"duplicate": "疑似重复登记（已确认登记）", "reappeared": "曾被取缔/停办的托幼点重新登记"}

_DROP = re.compile(r"[\s\u3000·•.,，。、;；:：'\"“”‘’()（）\[\]【】<>《》\-—_/\\#＃]+")


def normalise(text: str) -> str:
    """A comparison form: NFKC (full-width → half-width), no whitespace or punctuation, lower case."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def phone_digits(phone: str) -> str:
    """The digits of a phone number (full-width digits included); "" when there are none."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", phone or "") if ch.isdigit())


def place_key(name: str, address: str) -> str:
    return f"{normalise(name)}|{normalise(address)}"[:520]


def contact_key(operator: str, phone: str) -> str:
    """Operator and phone; "" when the phone is empty (an operator alone matches nothing)."""
    digits = phone_digits(phone)
    return f"{normalise(operator)}|{digits}"[:160] if digits else ""


def parse_day(text: str, label: str = "日期", flag: str = "date") -> date:
    """A required date typed as exactly YYYY-MM-DD (the one input policy, `cases.validation`)."""
    from cases.validation import parse_date

    day = parse_date(text, flag.removeprefix("--").replace("-", "_"))
    if day is None:
        raise InvalidInput(f"{label}不能为空（格式 YYYY-MM-DD）", f"{flag} is required (YYYY-MM-DD)")
    return day


@dataclass(frozen=True)
class Match:
    """An earlier case a registration matches."""

    case_id: int
    point_id: int
    name: str
    address: str
    operator: str
    township: str
    state: str
    match: str  # place / contact

    @property
    def ended(self) -> bool:
        """The earlier point was banned or closed: a new registration is flagged, not refused."""
        return self.state in ENDED_STATES

    @property
    def label(self) -> str:
        """案件 #12（阳光托幼点，梅厂镇，名称和地址相同）"""
        from cases.queries import rectification_engine

        state = ENDED_STATES.get(self.state) or rectification_engine().state_zh(self.state)
        return f"案件 #{self.case_id}（{self.name}，{self.township}，{state}，{MATCH_ZH[self.match]}）"

    def as_dict(self) -> dict[str, object]:
        return {"case_id": self.case_id, "point_id": self.point_id, "name": self.name, "township": self.township,
                "state": self.state, "match": self.match, "ended": self.ended}


class DuplicatePoint(Conflict):
    """A registration refused because it matches a point that still has a file; `matches` names them."""

    def __init__(self, matches: list[Match]) -> None:
        names = "；".join(m.label for m in matches)
        ids = ", ".join(f"#{m.case_id}" for m in matches)
        super().__init__(
            f"疑似重复登记：{names}。一点一档，请在原案件中办理；如确属不同的托幼点，请确认后再登记",
            f"likely duplicate of case {ids} (same name and address, or same operator and phone); "
            "work on the existing case, or register anyway with --force",
        )
        self.matches = matches


_POINT = Point.__table__  # type: ignore[attr-defined]
_CASE = Case.__table__  # type: ignore[attr-defined]
_TOWN = Township.__table__  # type: ignore[attr-defined]
_LINK = CaseLink.__table__  # type: ignore[attr-defined]
_MATCH_COLUMNS = (_CASE.c.id.label("case_id"), _POINT.c.id.label("point_id"), _POINT.c.name, _POINT.c.address,
                  _POINT.c.operator, _TOWN.c.name.label("township"), _CASE.c.state, _POINT.c.place_key,
                  _POINT.c.contact_key)
_MATCH_FROM = (sa.select(*_MATCH_COLUMNS)
               .select_from(_POINT.join(_CASE, _CASE.c.point_id == _POINT.c.id)
                            .join(_TOWN, _TOWN.c.id == _POINT.c.township_id)))
_MATCH_PLACE = Prepared(_MATCH_FROM.where(_POINT.c.place_key == sa.bindparam("place")))
_MATCH_PLACE_OR_CONTACT = Prepared(_MATCH_FROM.where(sa.or_(_POINT.c.place_key == sa.bindparam("place"),
                                                             _POINT.c.contact_key == sa.bindparam("contact"))))


def _matches(rows: Iterable[Mapping[str, Any]], place: str, contact: str) -> list[Match]:
    out = []
    for r in rows:
        kind = "place" if r["place_key"] == place else "contact" if contact and r["contact_key"] == contact else ""
        if kind:
            out.append(Match(case_id=r["case_id"], point_id=r["point_id"], name=r["name"], address=r["address"],
                             operator=r["operator"], township=r["township"], state=r["state"], match=kind))
    return sorted(out, key=lambda m: m.case_id)


def find_duplicates(session: Session, *, name: str, address: str, operator: str, phone: str = "") -> list[Match]:
    """Earlier cases in the district whose point matches this registration (oldest first)."""
    place, contact = place_key(name, address), contact_key(operator, phone)
    if contact:
        rows = _MATCH_PLACE_OR_CONTACT.mappings(session.connection(), {"place": place, "contact": contact})
    else:
        rows = _MATCH_PLACE.mappings(session.connection(), {"place": place})
    return _matches(rows, place, contact)


def blocking(matches: Iterable[Match]) -> list[Match]:
    """The matches that refuse a registration unless forced (the earlier point still has a live file)."""
    return [m for m in matches if not m.ended]


class DuplicateIndex:
    """The duplicate check for many rows: the district's keys read once, rows added as they are accepted.

    `find` returns the earlier cases a row matches; rows added with `add` (earlier rows of the same
    file, not yet saved) come back as `Match` objects with `case_id` 0 and `name` as given.
    """

    def __init__(self, rows: Iterable[sa.RowMapping]) -> None:
        self._place: dict[str, list[sa.RowMapping | dict[str, object]]] = {}
        self._contact: dict[str, list[sa.RowMapping | dict[str, object]]] = {}
        for r in rows:
            self._put(r)

    @classmethod
    def load(cls, session: Session) -> DuplicateIndex:
        return cls(session.connection().execute(_MATCH_FROM).mappings().all())

    def _put(self, r: sa.RowMapping | dict[str, object]) -> None:
        self._place.setdefault(str(r["place_key"]), []).append(r)
        if r["contact_key"]:
            self._contact.setdefault(str(r["contact_key"]), []).append(r)

    def find(self, *, name: str, address: str, operator: str, phone: str = "") -> list[Match]:
        place, contact = place_key(name, address), contact_key(operator, phone)
        seen: dict[tuple[object, object], sa.RowMapping | dict[str, object]] = {}
        for r in [*self._place.get(place, []), *(self._contact.get(contact, []) if contact else [])]:
            seen[(r["case_id"], r["point_id"])] = r
        return _matches(seen.values(), place, contact)  # type: ignore[arg-type]

    def add(self, *, name: str, address: str, operator: str, phone: str = "", township: str = "",
            case_id: int = 0, point_id: int = 0, state: str = "registered") -> None:
        self._put({"case_id": case_id, "point_id": point_id, "name": name, "address": address,
                   "operator": operator, "township": township, "state": state,
                   "place_key": place_key(name, address), "contact_key": contact_key(operator, phone)})


def link_cases(session: Session, *, case_id: int, matches: Iterable[Match], actor_id: int | None,
               now: datetime) -> None:
    """Record, in the caller's transaction, which earlier cases a new registration matched."""
    conn = session.connection()
    for m in matches:
        if not m.case_id:
            continue
        conn.execute(_LINK.insert(), {"case_id": case_id, "other_case_id": m.case_id,
                                      "kind": "reappeared" if m.ended else "duplicate", "match": m.match,
                                      "other_state": m.state, "actor_id": actor_id, "created_at": now})


# -- the basis of a registration date ---------------------------------------------------------


def registration_facts(point: Point, district: District) -> dict[str, Any]:
    """What a reviewer needs to trust a first-registration date: its basis, and whether it was typed in later.

    `entered_later` is true when the date lies on or before the cut-off but the point was entered
    into the system after it (a date typed in by hand or imported, which is why it carries a basis).
    """
    tz = ZoneInfo(district.district.timezone)
    entered_on = point.created_at.astimezone(tz).date() if point.created_at else None
    cutoff = district.district.cutoff
    return {"registered_on": point.registered_on.isoformat(), "basis": point.basis,
            "entered_on": entered_on.isoformat() if entered_on else None,
            "before_cutoff": point.registered_on <= cutoff,
            "entered_later": bool(entered_on and point.registered_on <= cutoff < entered_on)}


def registrations_of_cases(session: Session, case_ids: Iterable[int], district: District) -> dict[int, dict[str, Any]]:
    """`registration_facts` for a page of cases (the approval queue), by case id, in one query."""
    ids = [i for i in case_ids if i]
    if not ids:
        return {}
    q = (sa.select(_CASE.c.id.label("case_id"), *_POINT.c)
         .select_from(_CASE.join(_POINT, _POINT.c.id == _CASE.c.point_id)).where(_CASE.c.id.in_(ids)))
    out = {}
    for r in session.connection().execute(q).mappings():
        point = Point.model_construct(**{c.name: r[c.name] for c in _POINT.columns})
        out[r["case_id"]] = registration_facts(point, district)
    return out


@dataclass(frozen=True)
class Link:
    """A link as one case shows it: the other case, which way, and why."""

    other_case_id: int
    other_name: str
    other_state: str
    kind: str  # duplicate / reappeared
    match: str
    newer: bool  # the other case is the newer registration

    @property
    def zh(self) -> str:
        """What the case page says: 曾被取缔 — 案件 #3 …, or 已重新登记为案件 #9."""
        flag = ENDED_STATES.get(self.other_state, "")
        if self.newer:
            head = "该托幼点已重新登记" if self.kind == "reappeared" else "疑似同一托幼点的新登记"
        else:
            head = flag or "疑似重复登记（已确认）"
        return f"{head}：案件 #{self.other_case_id}（{self.other_name}，{MATCH_ZH.get(self.match, self.match)}）"

    @property
    def flag(self) -> str:
        """The short badge ("曾被取缔/停办") a reappeared point carries on both cases, else ""."""
        return "曾被取缔/停办" if self.kind == "reappeared" else ""

    def as_dict(self) -> dict[str, object]:
        return {"case_id": self.other_case_id, "name": self.other_name, "state": self.other_state,
                "kind": self.kind, "match": self.match, "newer": self.newer, "zh": self.zh}


def links_of(session: Session, case_id: int) -> list[Link]:
    """Every case linked to this one, both ways, oldest link first."""
    other = _CASE.alias("other")
    q = (sa.select(_LINK.c.case_id, _LINK.c.other_case_id, _LINK.c.kind, _LINK.c.match, _LINK.c.other_state,
                   _POINT.c.name, other.c.id.label("oid"))
         .select_from(_LINK.join(other, sa.or_(
             sa.and_(_LINK.c.case_id == case_id, other.c.id == _LINK.c.other_case_id),
             sa.and_(_LINK.c.other_case_id == case_id, other.c.id == _LINK.c.case_id))))
         .join(_POINT, _POINT.c.id == other.c.point_id)
         .where(sa.or_(_LINK.c.case_id == case_id, _LINK.c.other_case_id == case_id))
         .order_by(_LINK.c.id))
    out = []
    for r in session.connection().execute(q).mappings():
        newer = r["other_case_id"] == case_id
        out.append(Link(other_case_id=r["oid"], other_name=r["name"], other_state=r["other_state"],
                        kind=r["kind"], match=r["match"], newer=newer))
    return out


def point_cases(session: Session, point_id: int) -> list[int]:
    """The ids of the cases of this point and of every point linked to it (its whole file), oldest first."""
    own = [r[0] for r in session.connection().execute(
        sa.select(_CASE.c.id).where(_CASE.c.point_id == point_id).order_by(_CASE.c.id))]
    seen = set(own)
    todo = list(own)
    while todo:  # follow links both ways: a point registered three times is one file
        cid = todo.pop()
        for link in links_of(session, cid):
            if link.other_case_id not in seen:
                seen.add(link.other_case_id)
                todo.append(link.other_case_id)
    return sorted(seen)
