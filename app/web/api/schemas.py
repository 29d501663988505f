"""Request and response bodies of the JSON API (`/api/v1`), as they appear in /openapi.json."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cases.validation import LIMITS, MAX_EVIDENCE, MAX_NOTES, parse_date


def _strict_date(value: Any) -> Any:
    """Dates only as YYYY-MM-DD (not `20260101`, not a timestamp): the one policy of `cases.validation`."""
    if value is None or isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("日期格式应为 YYYY-MM-DD / a date must be YYYY-MM-DD")
    try:
        return parse_date(value, "registered_on")
    except ValueError as exc:  # InvalidInput is a ValueError: pydantic reports it as a 400
        raise ValueError(str(exc)) from None


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

    name: str = Field(max_length=LIMITS["name"].max)
    township: str = Field(max_length=LIMITS["township"].max, description="township code")
    address: str = Field(max_length=LIMITS["address"].max)
    operator: str = Field(max_length=LIMITS["operator"].max)
    phone: str = Field(default="", max_length=LIMITS["phone"].max)
    registered_on: date | None = Field(default=None, description="YYYY-MM-DD")
    source: str = Field(default="registry", max_length=16, description="registry | complaint | patrol")

    basis: str = Field(default="", max_length=LIMITS["basis"].max,
                       description="documentary basis of registered_on; required on or before the cut-off")
    force: bool = Field(default=False, description="register despite a likely duplicate (recorded)")

    _registered_on = field_validator("registered_on", mode="before")(_strict_date)


class ActionIn(BaseModel):
    """Fire a trigger on a case, as `tuoyou case do` does. Items not named in failed/major passed."""

    model_config = ConfigDict(extra="forbid")

    trigger: str = Field(max_length=LIMITS["trigger"].max)
    reason: str = Field(default="", max_length=LIMITS["reason"].max)
    failed: list[str] = Field(default_factory=list, max_length=MAX_NOTES)
    major: list[str] = Field(default_factory=list, max_length=MAX_NOTES)
    notes: dict[str, str] = Field(default_factory=dict, max_length=MAX_NOTES,
                                  description=f"checklist code → note (at most {LIMITS['note'].max} characters)")
    target: str = Field(default="", max_length=LIMITS["target"].max)
    evidence: list[str] = Field(default_factory=list, max_length=MAX_EVIDENCE,
                                description="sha256 of uploaded evidence")
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
