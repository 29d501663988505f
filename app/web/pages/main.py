"""All page routers, included in one place."""

from fastapi import APIRouter

from app.web.pages import (
    auth,
    campaign,
    cases,
    dashboard,
    delivery,
    designation,
    hotline,
    inbox,
    point_file,
    points,
    reports,
    supervision,
    users,
    verify,
    worklist,
)

router = APIRouter(include_in_schema=False)
router.include_router(auth.router)
router.include_router(worklist.router)
router.include_router(cases.router)
router.include_router(delivery.router)
router.include_router(reports.router)
router.include_router(points.router)
router.include_router(point_file.router)
router.include_router(supervision.router)
router.include_router(inbox.router)
router.include_router(dashboard.router)
router.include_router(users.router)
router.include_router(verify.router)
router.include_router(hotline.router)
router.include_router(designation.router)
router.include_router(campaign.router)
