"""The district numbers the rectification workflow's guards and deadlines depend on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class Policy:
    """District facts the workflow needs, handed in by the caller (never read from disk here)."""

    max_rounds: int = 2
    cutoff: date | None = None
    checklist: tuple[str, ...] = ()
    major_capable: frozenset[str] = frozenset()
    severity: dict[str, str] = field(default_factory=dict)
    review_days: int = 10
    rectification_days: dict[str, int] = field(
        default_factory=lambda: {"general": 20, "serious": 10, "major": 5}
    )
    cessation_days: int = 15
    enforcement_days: int = 10
    approval_days: int = 5

    def rectification_period(self, failed: frozenset[str] | set[str]) -> int:
        """Days allowed to rectify: the strictest (shortest) period among the failed items."""
        if not failed:
            return self.rectification_days["general"]
        return min(self.rectification_days[self.severity.get(code, "general")] for code in failed)
