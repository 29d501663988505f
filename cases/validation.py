"""One input policy for every face: the limits of each field and the functions that apply them.

CLI, web pages, JSON API, imports and the service all call these plain functions; each
returns the cleaned value or raises `InvalidInput` (bilingual, naming the field), so a value
is accepted or refused the same way wherever it is typed. Nothing is ever cut short: text
over its limit is refused, never truncated. The rules:

- text: surrounding whitespace trimmed; NUL, control characters (tab and newline only in
  multi-line fields), lone surrogates and bidirectional overrides refused; a required field
  made only of blank or invisible characters (zero-width space, …) counts as empty;
- dates: exactly `YYYY-MM-DD` (`20260101` is refused), within `MIN_DATE`…`MAX_DATE`;
- ids: integers in 1…`MAX_ID` (the database's INTEGER range); anything else is "not found",
  never an overflow;
- terminal output: `for_terminal` removes control sequences from text a user typed.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from cases.errors import InvalidInput, NotFound

_LOGGER = logging.getLogger(__name__)

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER; SQLite would take more, but both must answer alike
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)


@dataclass(frozen=True)
class Limit:
    """How long a field may be and how it is named in messages."""

    zh: str
    en: str
    max: int
    multiline: bool = False


LIMITS: dict[str, Limit] = {
    # the registry (column sizes in cases/models.py are the same or larger)
    "name": Limit("托幼点名称", "point name", 200),
    "address": Limit("地址", "address", 300),
    "operator": Limit("举办者", "operator", 100),
    "phone": Limit("联系电话", "phone", 40),
    "township": Limit("镇街编码", "township code", 32),
    "basis": Limit("登记依据", "registration basis", 500, multiline=True),
    # what an action carries
    "reason": Limit("理由", "reason", 2000, multiline=True),
    "note": Limit("检查备注", "inspection note", 500, multiline=True),
    "target": Limit("转型目标机构", "conversion target", 200),
    "trigger": Limit("操作", "trigger", 32),
    "code": Limit("检查项目编码", "checklist code", 32),
    "recipient": Limit("受送达人", "recipient", 100),
    "complaint_number": Limit("工单号", "complaint number", 64),
    # people
    "user_name": Limit("用户名", "user name", 64),
    "display_name": Limit("显示名", "display name", 64),
    "email": Limit("电子邮箱", "email", 128),
    "password": Limit("密码", "password", 200),
    # looking things up
    "search": Limit("搜索词", "search text", 100),
}
MAX_NOTES = 100  # one note per checklist item at most
MAX_EVIDENCE = 50

DATES: dict[str, tuple[str, str]] = {
    "registered_on": ("首次登记日期", "registered-on date"),
    "on": ("日期", "date"),
    "served_on": ("送达日期", "service date"),
    "now": ("--now 时间", "--now"),
}

ID_KINDS: dict[str, tuple[str, str]] = {
    "case": ("案件", "case"),
    "notice": ("文书", "notice"),
    "point": ("托幼点", "point"),
    "user": ("用户", "user"),
    "message": ("消息", "message"),
}

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ID_RE = re.compile(r"#?([0-9]{1,12})")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
# bidirectional embeddings, overrides and isolates: they make text read differently than it is stored
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# letters and symbols that draw nothing (Hangul fillers, braille blank)
_BLANK_GRAPHIC = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_MULTILINE_OK = frozenset("\n\t")


def _limit(field: str) -> Limit:
    return LIMITS[field]


def has_visible(text: str) -> bool:
    """Whether the text draws anything: a letter, digit, punctuation mark or symbol that is not blank."""
    return any(unicodedata.category(ch)[0] in "LNPS" and ch not in _BLANK_GRAPHIC for ch in text)


def _bad_char(text: str, multiline: bool) -> str | None:
    """The first character the policy refuses, if any."""
    for ch in text:
        if ch in _BIDI:
            return ch
        cat = unicodedata.category(ch)
        if cat == "Cs" or (cat == "Cc" and not (multiline and ch in _MULTILINE_OK)):
            return ch
    return None


def _describe(ch: str) -> str:
    return f"U+{ord(ch):04X}" + (" (NUL)" if ch == "\x00" else "")


def clean_text(field: str, value: Any, *, required: bool = False, limit: int | None = None) -> str:
    """The field's text, trimmed; refused (InvalidInput) when it breaks the policy, never shortened.

    A required field that holds only blank or invisible characters is refused as empty; an
    optional one comes back as "" (so a zero-width space never counts as a reason).
    """
    spec = _limit(field)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{spec.zh}须为文本", f"{spec.en} must be text")
    text = value.replace("\r\n", "\n").replace("\r", "\n") if spec.multiline else value
    bad = _bad_char(text, spec.multiline)
    if bad is not None:
        raise InvalidInput(f"{spec.zh}含有不允许的控制字符（{_describe(bad)}）",
                           f"{spec.en} contains a control character that is not allowed ({_describe(bad)})")
    text = text.strip()
    if not has_visible(text):
        if required:
            raise InvalidInput(f"{spec.zh}不能为空", f"{spec.en} must not be empty")
        return ""
    most = limit if limit is not None else spec.max
    if len(text) > most:
        raise InvalidInput(f"{spec.zh}过长：{len(text)} 个字符，上限 {most} 个",
                           f"{spec.en} is too long: {len(text)} characters, the limit is {most}")
    return text


def is_clean(value: str, *, limit: int = 200) -> bool:
    """Whether a lookup key (a name typed at sign-in, a code) could be stored at all."""
    return isinstance(value, str) and len(value) <= limit and _bad_char(value, False) is None


def clean_search(value: str | None) -> str:
    """A search term: trimmed, within its limit, without control characters ("" when blank)."""
    return clean_text("search", value)


def clean_notes(notes: Any, codes: Iterable[str]) -> dict[str, str]:
    """Inspection notes keyed by checklist code: unknown keys and long notes refused, blank ones dropped."""
    if notes is None:
        return {}
    if not isinstance(notes, Mapping):
        raise InvalidInput("检查备注须为「项目编码 → 备注」", "notes must map checklist codes to text")
    if len(notes) > MAX_NOTES:
        raise InvalidInput(f"检查备注过多（上限 {MAX_NOTES} 条）", f"too many notes (at most {MAX_NOTES})")
    known = set(codes)
    unknown = sorted(str(k)[:40] for k in notes if k not in known)
    if unknown:
        raise InvalidInput(f"检查备注的项目编码不存在：{'、'.join(unknown[:10])}",
                           f"notes name unknown checklist codes: {', '.join(unknown[:10])}")
    out: dict[str, str] = {}
    for code, text in notes.items():
        note = clean_text("note", text)
        if note:
            out[code] = note
    return out


def clean_codes(field: str, codes: Iterable[Any]) -> tuple[str, ...]:
    """A list of short codes (checklist items): each clean text of at most 32 characters."""
    out = []
    for c in codes:
        code = clean_text("code", c)
        if code:
            out.append(code)
    if len(out) > MAX_NOTES:
        raise InvalidInput(f"{field} 项目过多", f"too many {field} items")
    return tuple(out)


def clean_hashes(values: Iterable[Any]) -> tuple[str, ...]:
    """Evidence references: sha256 hex digests, at most `MAX_EVIDENCE`."""
    out = tuple(str(v) for v in values)
    if len(out) > MAX_EVIDENCE:
        raise InvalidInput(f"一次最多引用 {MAX_EVIDENCE} 个证据文件", f"at most {MAX_EVIDENCE} evidence files")
    bad = [v for v in out if not _SHA_RE.fullmatch(v)]
    if bad:
        raise InvalidInput("证据文件编号无效（应为 64 位十六进制 sha256）",
                           "evidence must be given by sha256 (64 hex digits)")
    return out


# -- dates -----------------------------------------------------------------------------------


def _date_label(field: str) -> tuple[str, str]:
    return DATES.get(field, (field, field))


def check_date(value: date, field: str = "on") -> date:
    """A date within the range the system keeps (1900…2999)."""
    zh, en = _date_label(field)
    if not (MIN_DATE <= value <= MAX_DATE):
        raise InvalidInput(f"{zh}超出范围（{MIN_DATE} 至 {MAX_DATE}）：{value.isoformat()}",
                           f"{en} out of range ({MIN_DATE} to {MAX_DATE}): {value.isoformat()}")
    return value


def parse_date(value: str | date | None, field: str = "on") -> date | None:
    """A date typed as exactly YYYY-MM-DD (None for blank); `20260101` or `2026-1-1` are refused."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return check_date(value, field)
    zh, en = _date_label(field)
    text = str(value).strip()
    if not text:
        return None
    parsed: date | None = None
    if _bad_char(text, False) is None and _DATE_RE.fullmatch(text):
        try:
            parsed = date.fromisoformat(text)
        except ValueError:
            parsed = None
    if parsed is not None:
        return check_date(parsed, field)
    shown = for_terminal(text)[:40]
    raise InvalidInput(f"{zh}格式应为 YYYY-MM-DD（如 2026-01-01）：{shown}",
                       f"{en} must be YYYY-MM-DD (e.g. 2026-01-01): {shown}")


def parse_datetime(value: str, field: str = "now", *, timezone: str = "Asia/Shanghai") -> datetime:
    """An ISO 8601 date-time (a plain date is midnight) as aware UTC; no zone means the district's."""
    zh, en = _date_label(field)
    text = str(value).strip()
    shown = for_terminal(text)[:40]
    try:
        if _bad_char(text, False) is not None or not text[:4].isdigit() or text[4:5] != "-":
            raise ValueError(text)
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=ZoneInfo(timezone))
        check_date(dt.date(), field)
        return dt.astimezone(UTC)
    except InvalidInput:
        raise
    except (ValueError, OverflowError):
        raise InvalidInput(f"{zh}格式应为 ISO 8601（如 2026-10-12T09:00）：{shown}",
                           f"{en} must be an ISO datetime (e.g. 2026-10-12T09:00): {shown}") from None


# -- ids -------------------------------------------------------------------------------------


def in_id_range(value: int) -> bool:
    return isinstance(value, int) and 1 <= value <= MAX_ID


def check_id(value: int, kind: str = "case") -> int:
    """The id when a record could have it; else NotFound (as for any missing record), never an overflow."""
    if not in_id_range(value):
        zh, en = ID_KINDS.get(kind, (kind, kind))
        raise NotFound(f"{zh} {value} 不存在", f"{en} {value} not found")
    return value


def parse_id(text: str | None) -> int | None:
    """A record id typed as `12` or `#12`, or None when the text is not one (a phone number is not)."""
    if text is None:
        return None
    m = _ID_RE.fullmatch(text.strip())
    if m is None:
        return None
    n = int(m.group(1))
    return n if in_id_range(n) else None


# -- output ----------------------------------------------------------------------------------

_TERMINAL_DROP = {i: None for i in range(0x20) if chr(i) not in "\n\t"}
_TERMINAL_DROP.update({i: None for i in range(0x7f, 0xa0)})
_TERMINAL_DROP.update({ord(ch): None for ch in _BIDI})


_ESCAPE_SEQ = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?|\x9b[0-?]*[ -/]*[@-~]")


def for_terminal(text: Any) -> str:
    """Text safe to print on a terminal: escape sequences and other control characters removed."""
    return _ESCAPE_SEQ.sub("", str(text)).translate(_TERMINAL_DROP)
