"""All JSON API routers under /api/v1, included in one place."""

from fastapi import APIRouter

from app.web.api import cases, inbox, notices, points

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(points.router)
api_router.include_router(cases.router)
api_router.include_router(notices.router)
api_router.include_router(inbox.router)
