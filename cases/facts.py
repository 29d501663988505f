"""Facts a workflow's guards read besides the case row, gathered in the service's transaction.

`workflow/` is pure: a guard sees only the subject and the request. What a guard needs from
elsewhere in the database (the township's figures, say) is looked up here, set on the working
case for the guard, and recorded in the transition's audit event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from cases.config import District
from workflow.designation import INCLUSIVE_PRIVATE
from workflow.spec import Request

FactsFn = Callable[[Session, District, Any, Request], dict[str, Any]]


def _designation(session: Session, district: District, case: Any, request: Request) -> dict[str, Any]:
    """The 50% rule reads the township's newest 公办园在园幼儿占比 when a nature is applied for or decided."""
    if request.trigger not in ("apply", "review", "approve"):
        return {}
    from cases.indicators import latest_public_share, require_public_share
    from cases.service import point_and_township

    _point, town = point_and_township(session, case.point_id)
    if (request.target or case.target) == INCLUSIVE_PRIVATE:  # the rule decides: figures are required
        share = require_public_share(session, town.code)
    else:
        share = latest_public_share(session, town.code)
        if share is None:
            return {}
    return {"public_share": share.share, "public_share_percent": share.percent, "public_share_year": share.year}


def _rectification(session: Session, district: District, case: Any, request: Request) -> dict[str, Any]:
    """Under enforcement, the ban's guards read the notice of intent, its service and the hearing."""
    if case.state != "enforcement":
        return {}
    from cases.serving import intent_facts

    return intent_facts(session, district, case.id)


FACTS: dict[str, FactsFn] = {"designation": _designation, "rectification": _rectification}


def workflow_facts(session: Session, district: District, case: Any, request: Request) -> dict[str, Any]:
    """The facts the case's workflow gathers for this request (none for most transitions)."""
    fn = FACTS.get(case.workflow)
    return fn(session, district, case, request) if fn else {}
