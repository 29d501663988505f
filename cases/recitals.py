"""What an adverse notice recites about its case: the law, the steps really taken, the evidence.

Adverse notices (不予备案, 责令停止办园, 行政处罚事先告知, 取缔决定) must name the norms from the
district file and recite only what happened in this case. `legal_context` reads the case's
own audit chain (`case_event`), its notices and their service records, its inspections and its
uploaded evidence, and returns plain data stored with the notice, so a later re-render reads
exactly as issued.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from cases.config import District
from cases.models import CaseEvent, Evidence, Inspection, Notice, NoticeService
from workflow.notices import NoticeKind

_LOGGER = logging.getLogger(__name__)

ADVERSE_KINDS = frozenset({NoticeKind.REFUSAL_NOTICE.value, NoticeKind.SUSPENSION_ORDER.value,
                           NoticeKind.PENALTY_INTENT.value, NoticeKind.BAN_DECISION.value})
# Kinds that state the findings of the last inspection, and the reason given in the case, when the
# transition itself carries none (a bureau's approval decides on the inspector's proposal).
FINDINGS_KINDS = ADVERSE_KINDS

_EVENT = CaseEvent.__table__  # type: ignore[attr-defined]
_NOTICE = Notice.__table__  # type: ignore[attr-defined]
_SERVICE = NoticeService.__table__  # type: ignore[attr-defined]
_INSPECTION = Inspection.__table__  # type: ignore[attr-defined]
_EVIDENCE = Evidence.__table__  # type: ignore[attr-defined]

_INSPECTING = {"order_rectification": "现场审查核查", "fail_reinspection": "复查", "suspend": "现场检查",
               "propose_filing": "现场审查核查", "propose_refusal": "现场审查核查"}


def _zh(day: date | str | None) -> str:
    if day is None:
        return ""
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    return f"{day.year}年{day.month}月{day.day}日"


def last_findings(session: Session, case_id: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(failed, major) item codes of the case's last inspection."""
    row = session.connection().execute(
        sa.select(_INSPECTION.c.results).where(_INSPECTION.c.case_id == case_id)
        .order_by(_INSPECTION.c.id.desc()).limit(1)).first()
    if row is None:
        return (), ()
    results: dict[str, str] = row[0] or {}
    return (tuple(sorted(c for c, r in results.items() if r == "fail")),
            tuple(sorted(c for c, r in results.items() if r == "major")))


def case_reason(session: Session, case: Any, kind: str) -> str:
    """The specific reason given in the case for an adverse decision taken without a reason of its own.

    A ban states the reason of its notice of intent; a decision on a proposal, the proposal's reason.
    """
    if kind == NoticeKind.BAN_DECISION.value and case.id is not None:
        row = session.connection().execute(
            sa.select(_NOTICE.c.data).where(_NOTICE.c.case_id == case.id,
                                            _NOTICE.c.kind == NoticeKind.PENALTY_INTENT.value)
            .order_by(_NOTICE.c.id.desc()).limit(1)).first()
        if row is not None and (row[0] or {}).get("reason"):
            return str(row[0]["reason"])
    return str(getattr(case, "proposal_reason", "") or "")


def law_snapshot(district: District) -> dict[str, Any]:
    """The district's legal citations, as printed on the notice (kept with it)."""
    law = district.law
    return {
        "empowering": law.empowering, "empowering_text": law.empowering_text, "unregistered": law.unregistered,
        "campaign": law.campaign, "campaign_text": law.campaign_text, "procedure": law.procedure,
        "decision": law.decision,
        "hearing_days": law.hearing_days, "review_body": district.review_body, "review_days": law.review_days,
        "review_law": law.review_law, "court": law.court, "litigation_months": law.litigation_months,
        "litigation_law": law.litigation_law,
    }


def history(session: Session, district: District, case_id: int) -> list[dict[str, str]]:
    """The steps this case really went through, in order, each a dated sentence (from its audit chain)."""
    tz = ZoneInfo(district.district.timezone)
    conn = session.connection()
    events = conn.execute(sa.select(_EVENT).where(_EVENT.c.case_id == case_id).order_by(_EVENT.c.seq)).mappings().all()
    notices = {r["number"]: r for r in conn.execute(
        sa.select(_NOTICE.c.number, _NOTICE.c.kind, _NOTICE.c.issued_on, _NOTICE.c.id)
        .where(_NOTICE.c.case_id == case_id)).mappings().all()}
    served = {r["notice_id"]: r for r in conn.execute(
        sa.select(_SERVICE).where(_SERVICE.c.case_id == case_id)).mappings().all()}

    def on(ev: Any) -> str:
        at: datetime = ev["at"]
        if at.tzinfo is None:  # SQLite through Core hands back naive UTC
            from datetime import UTC

            at = at.replace(tzinfo=UTC)
        return _zh(at.astimezone(tz).date())

    def doc(number: str) -> str:
        n = notices.get(number)
        if not number or n is None:
            return ""
        title = NoticeKind(n["kind"]).title if n["kind"] in NoticeKind._value2member_map_ else n["kind"]
        text = f"{title}（{number}）"
        s = served.get(n["id"])
        if s is not None:
            from cases.serving import METHODS

            text += f"，该文书已于{_zh(s['served_on'])}{METHODS.get(s['method'], '')}"
        return text

    out: list[dict[str, str]] = []
    for ev in events:
        t, data, number = ev["trigger"], ev["data"] or {}, ev["notice_number"] or ""
        text = ""
        if t == "open":
            text = "立案登记"
        elif t == "start_review":
            text = "开始审查核查"
        elif t == "order_rectification":
            text = f"经现场审查核查发现问题，发出{doc(number)}，责令限期整改"
        elif t == "request_reinspection":
            text = "举办者报告整改完成，申请复查"
        elif t == "fail_reinspection":
            text = f"经复查仍不合格，发出{doc(number)}，责令进行第{data.get('round', '')}轮整改"
        elif t == "expire":
            when = _zh(data.get("deadline")) if data.get("deadline") else ""
            text = f"整改期限{when}届满，逾期未完成整改"
        elif t == "escalate":
            level = data.get("level_zh", "督办")
            text = f"启动{level}（{number}）" if number else f"启动{level}"
        elif t == "suspend":
            text = f"经现场检查发现重大安全隐患，发出{doc(number)}，责令立即停止办园"
        elif t == "propose_refusal":
            text = "检查人员提出不予备案意见"
        elif t == "propose_enforcement":
            text = f"检查人员提出依法处置意见（{ev['reason']}）" if ev["reason"] else "检查人员提出依法处置意见"
        elif t == "approve" and ev["to_state"] == "refused":
            text = f"{district.district.bureau_short}决定不予备案，发出{doc(number)}"
        elif t == "approve" and ev["to_state"] == "enforcement":
            text = f"{district.district.bureau_short}决定依法处置，发出{doc(number)}，责令停止办园"
        elif t == "send_back":
            text = f"{district.district.bureau_short}退回检查人员的意见"
        elif t == "notify_intent":
            text = f"发出{doc(number)}，告知拟作出的决定及陈述、申辩和听证权利"
        elif t == "record_statement":
            text = f"当事人提出陈述、申辩意见：{ev['reason']}" if ev["reason"] else "当事人提出陈述、申辩意见"
        elif t == "request_hearing":
            text = "当事人申请听证"
        elif t == "record_hearing":
            text = f"依法组织听证（{ev['reason']}）" if ev["reason"] else "依法组织听证"
        elif t == "reopen":
            text = f"重新审查核查（{ev['reason']}）" if ev["reason"] else "重新审查核查"
        if text:
            out.append({"on": on(ev), "trigger": t, "text": text})
    return out


def evidence(session: Session, district: District, case_id: int) -> list[str]:
    """The evidence on file: inspection records by date, uploaded photos and documents, notices served."""
    tz = ZoneInfo(district.district.timezone)
    conn = session.connection()
    out: list[str] = []
    for row in conn.execute(sa.select(_INSPECTION.c.trigger, _INSPECTION.c.at).where(
            _INSPECTION.c.case_id == case_id).order_by(_INSPECTION.c.id)).mappings().all():
        at: datetime = row["at"]
        if at.tzinfo is None:
            from datetime import UTC

            at = at.replace(tzinfo=UTC)
        out.append(f"{_zh(at.astimezone(tz).date())}{_INSPECTING.get(row['trigger'], '现场检查')}记录")
    files = conn.execute(sa.select(_EVIDENCE.c.content_type, sa.func.count()).where(
        _EVIDENCE.c.case_id == case_id).group_by(_EVIDENCE.c.content_type)).all()
    photos = sum(n for ct, n in files if ct.startswith("image/"))
    docs = sum(n for ct, n in files if not ct.startswith("image/"))
    if photos:
        out.append(f"现场照片{photos}张")
    if docs:
        out.append(f"书面材料{docs}份")
    receipts = conn.execute(sa.select(sa.func.count()).select_from(_SERVICE).where(
        _SERVICE.c.case_id == case_id)).scalar_one()
    if receipts:
        out.append(f"送达回证{receipts}份")
    return out


def legal_context(session: Session, district: District, case_id: int | None, kind: str) -> dict[str, Any]:
    """What an adverse notice of `kind` recites (empty for other kinds)."""
    if kind not in ADVERSE_KINDS or case_id is None:
        return {}
    out: dict[str, Any] = {"law": law_snapshot(district), "history": history(session, district, case_id),
                           "evidence": evidence(session, district, case_id)}
    if kind == NoticeKind.BAN_DECISION.value:
        from cases.serving import intent_facts

        out["intent"] = intent_facts(session, district, case_id)
        out["statements"] = [h["text"] for h in out["history"] if h["trigger"] == "record_statement"]
    return out
