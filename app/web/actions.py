"""The case page's forms: the inspection (the checklist, recorded once) and the actions allowed now.

An inspection is its own step: every checklist item is marked explicitly (合格 / 不合格 /
重大隐患 / 不适用; nothing is pre-selected and nothing is assumed), with a note and photos per
item. What follows is then chosen from the actions the result allows (责令整改 when an item
failed, 责令停止办园 for a major hazard, 复查合格 → 拟予备案 when nothing failed, …), judged by
the workflow's own guards. Which fields each action form needs comes from the declaration too:
a reason where the `reason` guard applies, a target institution where `target` does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from cases.config import District
from cases.errors import InvalidInput
from cases.queries import case_engine
from cases.service import RESULTS, Action
from workflow.engine import engine_for
from workflow.registry import spec_for
from workflow.spec import PREVIOUS, SAME, Request

_LOGGER = logging.getLogger(__name__)

DANGER = frozenset({"suspend", "propose_enforcement", "propose_refusal", "confirm_ban", "send_back"})
FORM_FIELDS = frozenset({"reason", "target"})  # guards the action form itself asks for
SKIP_HINTS = frozenset({"known_items", "major_capable", "reason", "target"})
# what the choice after an inspection is called where the action's own name says too little
OUTCOME_ZH: dict[tuple[str, str], str] = {
    ("propose_filing", "reinspecting"): "复查合格，拟予备案",
    ("propose_filing", "under_review"): "检查合格，拟予备案",
    ("fail_reinspection", "reinspecting"): "复查不合格，继续整改",
}
DONE_ZH = {"open": "托幼点已登记，案件已立案。", "inspect": "检查结果已保存，请根据结果选择后续操作。"}


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
            trigger=trigger, zh=OUTCOME_ZH.get((trigger, state), t.zh) if t.inspection else t.zh, dest_zh=dest,
            inspection=t.inspection, needs_reason="reason" in codes, needs_target=target is not None,
            danger=trigger in DANGER,
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


# -- the inspection step ---------------------------------------------------------------------


@dataclass(frozen=True)
class Findings:
    """One recorded checklist: every item's result, notes and photos (content hashes) per item."""

    results: dict[str, str]
    notes: dict[str, str]
    photos: dict[str, tuple[str, ...]]

    def as_values(self) -> dict[str, Any]:
        """As form fields (item_<code>, note_<code>, evidence_<code>), for keeping in a draft."""
        out: dict[str, Any] = {}
        for code, result in self.results.items():
            out[f"item_{code}"] = result
            if self.notes.get(code):
                out[f"note_{code}"] = self.notes[code]
            if self.photos.get(code):
                out[f"evidence_{code}"] = list(self.photos[code])
        return out

    @property
    def failed(self) -> frozenset[str]:
        return frozenset(c for c, r in self.results.items() if r == "fail")

    @property
    def major(self) -> frozenset[str]:
        return frozenset(c for c, r in self.results.items() if r == "major")


def _list(values: Mapping[str, Any], key: str) -> list[str]:
    getlist = getattr(values, "getlist", None)
    raw = getlist(key) if getlist else values.get(key) or []
    return [str(v) for v in ([raw] if isinstance(raw, str) else raw) if isinstance(v, str) and v]


def parse_findings(values: Mapping[str, Any], *, district: District,
                   photos: Mapping[str, list[str]] | None = None) -> Findings:
    """The checklist from posted fields; every item must be marked (nothing is assumed)."""
    results: dict[str, str] = {}
    notes: dict[str, str] = {}
    kept: dict[str, tuple[str, ...]] = {}
    missing = []
    for item in district.checklist:
        code = item.code
        result = str(values.get(f"item_{code}") or "")
        if not result:
            missing.append(item)
        elif result not in RESULTS or (result == "major" and not item.major_capable):
            raise InvalidInput(f"检查项目「{item.title}」的结果无效", f"invalid result for item {code}")
        else:
            results[code] = result
        note = str(values.get(f"note_{code}") or "").strip()
        if note:
            notes[code] = note  # too long a note is refused by cases.validation, not cut
        hashes = [h for h in _list(values, f"evidence_{code}") if len(h) == 64]
        hashes += [h for h in (photos or {}).get(code, []) if h not in hashes]
        if hashes:
            kept[code] = tuple(hashes)
    if missing:
        names = "、".join(f"「{i.title}」" for i in missing)
        raise InvalidInput(f"还有 {len(missing)} 个检查项目未标记：{names}。请逐项选择合格、不合格、重大隐患或不适用",
                           f"unmarked checklist items: {', '.join(i.code for i in missing)}")
    return Findings(results=results, notes=notes, photos=kept)


def findings_from(values: Mapping[str, Any] | None, district: District) -> Findings | None:
    """A kept checklist, if it is still complete for the district's checklist."""
    if not values:
        return None
    try:
        return parse_findings(values, district=district)
    except InvalidInput:
        return None


def outcome_forms(forms: list[ActionForm], findings: Findings, *, case: Any, district: District,
                  role: str, actor_id: int | None) -> list[ActionForm]:
    """Of the inspection actions allowed now, those this result allows (by the workflow's own guards)."""
    eng = case_engine(case)
    policy = district.policy()
    out = []
    for f in forms:
        t = eng.transition(f.trigger, case.state)
        if t is None or not f.inspection:
            continue
        request = Request(trigger=f.trigger, role=role, actor_id=actor_id, failed=findings.failed,
                          major=findings.major)
        if all(g.code in FORM_FIELDS or g.check(case, request, policy) for g in t.guards):
            out.append(f)
    return out


def parse_action(form: Mapping[str, Any], *, district: District, evidence: tuple[str, ...] = (),
                 findings: Findings | None = None) -> Action:
    """An `Action` from a posted action form, with the recorded inspection when the action takes one."""
    trigger = str(form.get("trigger") or "").strip()
    if not trigger:
        raise InvalidInput("未指定操作", "no trigger given")
    version_raw = str(form.get("expected_version") or "").strip()
    try:
        expected = int(version_raw) if version_raw else None
    except ValueError:
        raise InvalidInput("版本号无效，请刷新页面", "invalid expected_version") from None
    action = Action(trigger=trigger, reason=str(form.get("reason") or ""),  # limits: cases.validation refuses
                    target=str(form.get("target") or ""), evidence=evidence,
                    expected_version=expected)
    if findings is not None:
        action = replace(action, results=dict(findings.results), notes=dict(findings.notes),
                         item_evidence=dict(findings.photos))
    return action
