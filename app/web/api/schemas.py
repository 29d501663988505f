"""Request and response bodies of the JSON API (`/api/v1`), as they appear in /openapi.json."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorDetail(BaseModel):
    zh: str
    en: str
    allowed: list[str] = Field(default_factory=list, description="the triggers allowed now, where it matters")


class ErrorOut(BaseModel):
    """Every error: 400 invalid input, 401 no token, 403 not allowed, 404 not found, 409 conflict."""

    error: ErrorDetail


class PointIn(BaseModel):
    """A point to register; its case opens in state `registered`."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=200)
    township: str = Field(max_length=32, description="township code")
    address: str = Field(max_length=300)
    operator: str = Field(max_length=100)
    phone: str = Field(default="", max_length=40)
    registered_on: date | None = None
    source: str = Field(default="registry", description="registry | complaint | patrol")


class ActionIn(BaseModel):
    """Fire a trigger on a case, as `tuoyou case do` does. Items not named in failed/major passed."""

    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(max_length=32)
    reason: str = Field(default="", max_length=2000)
    failed: list[str] = Field(default_factory=list, max_length=100)
    major: list[str] = Field(default_factory=list, max_length=100)
    notes: dict[str, str] = Field(default_factory=dict)
    target: str = Field(default="", max_length=200)
    evidence: list[str] = Field(default_factory=list, max_length=50, description="sha256 of uploaded evidence")
    expected_version: int | None = Field(default=None, description="refuse with 409 if the case changed since")


class ActionOut(BaseModel):
    case_id: int
    trigger: str
    from_state: str = Field(alias="from")
    to: str
    state_zh: str
    version: int
    round: int
    deadline: date | None
    notices: list[str]
    event_hash: str

    model_config = ConfigDict(populate_by_name=True)


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int


class EvidenceOut(BaseModel):
    sha256: str
    filename: str
    content_type: str
    size: int
    url: str


class UserOut(BaseModel):
    name: str
    display_name: str
    role: str
    township: str | None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409)
}
