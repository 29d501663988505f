"""Every workflow declaration the engine can run, by name and version.

A case stores the name and version of the declaration it was opened under, so a later change
of a declaration (a new version added here) never changes cases already running: they keep
being driven by the version they started with.
"""

from __future__ import annotations

from workflow.designation import DESIGNATION
from workflow.errors import InvalidInput
from workflow.rectification import RECTIFICATION
from workflow.spec import WorkflowSpec

WORKFLOWS: dict[tuple[str, int], WorkflowSpec] = {
    (spec.name, spec.version): spec for spec in (RECTIFICATION, DESIGNATION)
}


def current(name: str) -> WorkflowSpec:
    """The newest version of the workflow `name`: what a new case is opened under."""
    versions = [spec for (n, _v), spec in WORKFLOWS.items() if n == name]
    if not versions:
        names = sorted({n for n, _v in WORKFLOWS})
        raise InvalidInput(f"没有名为 {name} 的流程", f"no workflow named {name}", allowed=names)
    return max(versions, key=lambda s: s.version)


def spec_for(name: str, version: int) -> WorkflowSpec:
    """The declaration a case was opened under."""
    try:
        return WORKFLOWS[(name, version)]
    except KeyError:
        known = [f"{n} v{v}" for n, v in sorted(WORKFLOWS)]
        raise InvalidInput(f"流程 {name} 第 {version} 版未定义", f"workflow {name} version {version} is not declared",
                           allowed=known) from None
