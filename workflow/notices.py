"""The kinds of notice (公文) a workflow can produce, with their Chinese titles."""

from __future__ import annotations

from enum import StrEnum


class NoticeKind(StrEnum):
    RECTIFICATION_ORDER = "rectification_order"  # 整改通知书
    REINSPECTION_OPINION = "reinspection_opinion"  # 复查意见书
    REFUSAL_NOTICE = "refusal_notice"  # 不予备案通知书
    FILING_RECEIPT = "filing_receipt"  # 备案回执
    SUSPENSION_ORDER = "suspension_order"  # 责令停止办园通知书
    BAN_DECISION = "ban_decision"  # 取缔决定书
    SUPERVISION_NOTICE = "supervision_notice"  # 督办通知书
    LISTED_SUPERVISION = "listed_supervision"  # 挂牌督办通知书
    BULLETIN = "bulletin"  # 督查通报
    DESIGNATION_APPROVAL = "designation_approval"  # 小区配套幼儿园办园性质认定批复
    PENALTY_INTENT = "penalty_intent"  # 行政处罚事先告知书
    SERVICE_RECEIPT = "service_receipt"  # 送达回证

    @property
    def title(self) -> str:
        return NOTICE_TITLES[self]


NOTICE_TITLES: dict[NoticeKind, str] = {
    NoticeKind.RECTIFICATION_ORDER: "整改通知书",
    NoticeKind.REINSPECTION_OPINION: "复查意见书",
    NoticeKind.REFUSAL_NOTICE: "不予备案通知书",
    NoticeKind.FILING_RECEIPT: "备案回执",
    NoticeKind.SUSPENSION_ORDER: "责令停止办园通知书",
    NoticeKind.BAN_DECISION: "取缔决定书",
    NoticeKind.SUPERVISION_NOTICE: "督办通知书",
    NoticeKind.LISTED_SUPERVISION: "挂牌督办通知书",
    NoticeKind.BULLETIN: "督查通报",
    NoticeKind.DESIGNATION_APPROVAL: "小区配套幼儿园办园性质认定批复",
    NoticeKind.PENALTY_INTENT: "行政处罚事先告知书",
    NoticeKind.SERVICE_RECEIPT: "送达回证",
}

# Notices addressed to the township's government rather than to the point's operator.
TO_TOWNSHIP: frozenset[NoticeKind] = frozenset({NoticeKind.DESIGNATION_APPROVAL})

NOTICE_KINDS: tuple[str, ...] = tuple(k.value for k in NoticeKind)
