"""The overview for leads, the bureau and the committee: counts, overdue by level, trend, the workflow."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web import charts, views
from app.web.deps import CurrentUser, SessionDep, WebDep
from app.web.pages.campaign import indicators_context
from app.web.render import render
from cases.queries import rectification_engine, sees_all
from cases.service import LEVEL_ZH
from workflow.spec import PREVIOUS, SAME

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["pages"])

STATE_CSS = {"terminal": "done", "proposal": "proposal", "working": "working"}


@router.get("/dashboard")
def dashboard(request: Request, user: CurrentUser, session: SessionDep, web: WebDep) -> Response:
    today = web.today()
    eng = rectification_engine()
    data = views.dashboard(session, user=user, district=web.district, today=today)
    bars = charts.bar_chart([
        (s.zh, data.by_state.get(s.name, 0),
         "done" if s.terminal else "proposal" if s.proposal else "overdue" if s.name == "overdue" else "working",
         f"/worklist?tab=all&state={s.name}")
        for s in eng.spec.states])
    trend = charts.line_chart(
        [f"{m.year % 100:02d}年{m.month}月" for m, _, _ in data.trend],
        [("在营托幼点（未停办、未取缔）", "operating", [op for _, op, _ in data.trend]),
         ("其中尚未备案或转型", "unfiled", [un for _, _, un in data.trend])])
    return render(request, "dashboard.html", {
        "data": data, "state_chart": bars, "trend_chart": trend, "today": today, "level_zh": LEVEL_ZH,
        "states": eng.spec.states, "district_wide": sees_all(user),
        "outcomes": [(s, eng.state_zh(s)) for s in views.TERMINAL],
        "supervised": views.supervised(session, user=user, district=web.district, today=today),
        "calendar_mode": web.district.deadlines.calendar,
        **indicators_context(session, web, user, None),
    })


@router.get("/workflow")
def workflow(request: Request, user: CurrentUser) -> Response:
    eng = rectification_engine()
    graph = charts.workflow_graph(eng.spec)
    rows = [{"trigger": t.trigger, "zh": t.zh,
             "sources": [eng.state_zh(s) for s in t.sources],
             "dest": {PREVIOUS: "提议前的状态", SAME: "状态不变"}.get(t.dest) or eng.state_zh(t.dest),
             "roles": sorted(t.roles), "notice": t.notice.title if t.notice else "",
             "guards": [g.zh for g in t.guards]}
            for t in eng.spec.transitions]
    by_state = [{"name": s.name, "zh": s.zh, "terminal": s.terminal,
                 "moves": [r for r, t in zip(rows, eng.spec.transitions, strict=True) if s.name in t.sources]}
                for s in eng.spec.states]
    return render(request, "workflow.html", {"graph": graph, "spec": eng.spec, "rows": rows, "by_state": by_state})
