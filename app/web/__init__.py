"""The web app: `create_app` wires the pages, the JSON API, static files, errors and security headers.

Pages are server-rendered Chinese HTML for inspectors, reviewers, leads and the committee;
`/api/v1` is the JSON API for other systems (bearer tokens from `tuoyou user token`), described
by `/openapi.json`. The interactive /docs page is off: it loads its scripts from a CDN, which
machines without internet cannot reach.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from app.web import errors
from app.web.api.main import api_router
from app.web.deps import WebState
from app.web.pages.main import router as pages_router
from app.web.render import STATIC_DIR
from app.web.security import HeadAsGet, SecurityHeaders
from cases.config import District, Settings, cached_district
from cases.db import engine_for_url
from cases.models import utcnow

_LOGGER = logging.getLogger(__name__)

__all__ = ["create_app"]


def create_app(
    *,
    engine: Engine | None = None,
    district: District | None = None,
    settings: Settings | None = None,
    clock: Callable[[], datetime] | None = None,
    data_dir: str | Path | None = None,
    start_scheduler: bool = False,
    config_path: str | None = None,
) -> FastAPI:
    """Build the app over a database and a district (from the settings when not given).

    `clock` lets tests pin "now"; `start_scheduler` runs the in-process scheduler while the app
    runs (its jobs reopen the database by URL and the district by `config_path`).
    """
    settings = settings or Settings()
    district = district or cached_district(settings.config)
    engine = engine or engine_for_url(settings.database_url)
    state = WebState(engine=engine, district=district, settings=settings,
                     data_dir=Path(data_dir or settings.data_dir).resolve(), clock=clock or utcnow)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = _start_scheduler(state, config_path or settings.config) if start_scheduler else None
        try:
            yield
        finally:
            if stop is not None:
                stop()

    app = FastAPI(
        title=f"托幼点整治 — {district.district.name}",
        description="民办托幼点整治案件引擎的 JSON API。令牌由 `tuoyou user token NAME` 生成，"
                    "以 `Authorization: Bearer <token>` 发送。错误统一为 "
                    '`{"error": {"zh", "en", "allowed"}}`：'
                    "400 输入有误、401 未认证、403 不允许、404 不存在、409 冲突。",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.web = state
    errors.install(app)
    app.include_router(api_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(HeadAsGet)
    _LOGGER.info("web app for %s over %s", district.district.name, engine.url.render_as_string(hide_password=True))
    return app


def _start_scheduler(state: WebState, config_path: str | None) -> Callable[[], None] | None:
    """Start the in-process scheduler if the scheduler package is there; returns how to stop it."""
    try:
        from scheduler.runner import start_background, stop_background
    except ImportError:
        _LOGGER.warning("scheduler.runner is not available: the web app runs without the in-process scheduler")
        return None
    url = state.engine.url.render_as_string(hide_password=False)
    scheduler: Any = start_background(url, config_path)
    _LOGGER.info("in-process scheduler started")
    return lambda: stop_background(scheduler)
