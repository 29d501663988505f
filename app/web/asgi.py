"""The ASGI entry point for `tuoyou serve --workers N`: each uvicorn worker process builds the app here.

Worker processes are spawned by uvicorn and import the app by name, so they cannot be handed
objects: they read the database URL, the district file and the data folder from the
environment (`TUOYOU_DATABASE_URL`, `TUOYOU_CONFIG`, `TUOYOU_DATA_DIR`), which `tuoyou serve`
sets before it starts them. The workers never run the scheduler: with several workers it runs
once, in the supervising process (or in `tuoyou scheduler run`).
"""

from __future__ import annotations

from fastapi import FastAPI

from app.web import create_app
from cases.config import Settings


def app_from_env() -> FastAPI:
    """The web app over the database and district named by the environment, without a scheduler."""
    settings = Settings()
    return create_app(settings=settings, start_scheduler=False, config_path=settings.config)
