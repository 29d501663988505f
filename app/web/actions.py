"""The action forms of the case page: which fields each allowed trigger needs, and reading them back.

What a form shows comes from the workflow declaration: a checklist for transitions with
`inspection=True` (major only for `major_capable` items), a reason where the `reason` guard
applies, a target institution for `propose_conversion`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cases.config import ChecklistItem, District
from cases.errors import InvalidInput
from cases.service import Action
from workflow.engine import engine_for
from workflow.registry import spec_for
from workflow.spec import PREVIOUS, SAME

_LOGGER = logging.getLogger(__name__)

RESULTS = ("pass", "fail", "major")
RESULT_ZH = {"pass": "合格", "fail": "不合格", "major": "重大隐患", "na": "不适用"}  # prefer district.result_zh
DANGER = frozenset({"suspend", "propose_enforcement", "propose_refusal", "confirm_ban", "send_back"})
SKIP_HINTS = frozenset({"known_items", "major_capable", "reason", "target"})


@dataclass(frozen=True)
class ActionForm:
    """One button-and-fields form for a trigger the user may fire now."""

    trigger: str
    zh: str
    dest_zh: str
    inspection: bool
    needs_reason: bool
    needs_target: bool
    danger: bool
    hints: tuple[str, ...]
    target_label: str = "转型目标机构"
    target_choices: tuple[str, ...] = ()


def action_forms(allowed: list[str], state: str, workflow: str = "rectification", version: int = 1) -> list[ActionForm]:
    """The forms of the triggers allowed now, from the declaration the case was opened under."""
    eng = engine_for(spec_for(workflow, version))
    forms = []
    for trigger in allowed:
        t = eng.transition(trigger, state)
        if t is None:
            continue
        codes = {g.code for g in t.guards}
        dest = {PREVIOUS: "提议前的状态", SAME: "状态不变"}.get(t.dest) or eng.state_zh(t.dest)
        target = next((g for g in t.guards if g.code == "target"), None)
        forms.append(ActionForm(
            trigger=trigger, zh=t.zh, dest_zh=dest, inspection=t.inspection, needs_reason="reason" in codes,
            needs_target=target is not None, danger=trigger in DANGER,
            target_label=target.label if target and target.label else "转型目标机构",
            target_choices=target.choices if target else (),
            hints=tuple(g.zh for g in t.guards if g.needs_input and g.code not in SKIP_HINTS)))
    return forms


def checklist_rows(district: District, last_results: Mapping[str, str] | None) -> list[dict[str, Any]]:
    """The checklist as the form shows it, with what the previous inspection found."""
    rows = []
    for item in district.checklist:
        rows.append({"code": item.code, "title": item.title, "category": item.category,
                     "severity_zh": district.severity_zh(item.severity), "major_capable": item.major_capable,
                     "requirement": item.requirement,
                     "previous": district.result_zh(r) if (r := (last_results or {}).get(item.code, "")) else ""})
    return rows


def parse_action(form: Mapping[str, Any], *, district: District, evidence: tuple[str, ...] = ()) -> Action:
    """An `Action` from a posted case-page form (fields `item_<code>`, `note_<code>`, …)."""
    trigger = str(form.get("trigger") or "").strip()
    if not trigger:
        raise InvalidInput("未指定操作", "no trigger given")
    version_raw = str(form.get("expected_version") or "").strip()
    try:
        expected = int(version_raw) if version_raw else None
    except ValueError:
        raise InvalidInput("版本号无效，请刷新页面", "invalid expected_version") from None
    failed: list[str] = []
    major: list[str] = []
    notes: dict[str, str] = {}
    items: dict[str, ChecklistItem] = {c.code: c for c in district.checklist}
    for code in items:
        result = str(form.get(f"item_{code}") or "pass")
        if result not in RESULTS:
            raise InvalidInput(f"检查项目 {code} 的结果无效", f"invalid result for item {code}")
        if result == "fail":
            failed.append(code)
        elif result == "major":
            major.append(code)
        note = str(form.get(f"note_{code}") or "").strip()
        if note:
            notes[code] = note
    return Action(trigger=trigger, reason=str(form.get("reason") or ""),
                  failed=tuple(failed), major=tuple(major), notes=notes,
                  target=str(form.get("target") or ""), evidence=evidence,
                  expected_version=expected)
