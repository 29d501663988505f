"""The public verification page `GET /v/<code>`: what a notice's QR code opens, no sign-in needed.

It shows what the paper already shows (number, kind, issuer, addressee, date), whether the
notice is in force or superseded, and the fingerprints of what was issued: the text (content
hash) and each issued file's drawn content. It reveals nothing else about the case. Lookups
are rate-limited per client, so codes cannot be guessed in bulk.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.web.deps import OptionalBrowser, SessionDep
from app.web.render import render
from cases.notices.codes import CODE_LENGTH, display_code, normalize_code
from cases.notices.verify import find_by_code, notice_status, renderings
from workflow.notices import NOTICE_TITLES, NoticeKind

_LOGGER = logging.getLogger(__name__)

router = APIRouter(tags=["verify"])

#: Lookups one client may make per window, and the window in seconds.
RATE_LIMIT = 30
RATE_WINDOW = 60.0


class RateLimiter:
    """A sliding window of request times per client address (per process)."""

    def __init__(self, limit: int, window: float, max_clients: int = 10_000) -> None:
        self.limit, self.window, self.max_clients = limit, window, max_clients
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when the client may go on, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) >= self.max_clients and client not in self._hits:
                self._forget(now)
            hits = self._hits.setdefault(client, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(hits[0] + self.window - now, 1.0)
            hits.append(now)
            return 0.0

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]
        if len(self._hits) >= self.max_clients:
            self._hits.clear()

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


limiter = RateLimiter(RATE_LIMIT, RATE_WINDOW)


def _title(kind: str) -> str:
    try:
        return NOTICE_TITLES[NoticeKind(kind)]
    except ValueError:
        return kind


def _grouped(digest: str, n: int = 4) -> str:
    return " ".join(digest[i:i + n] for i in range(0, len(digest), n))


@router.get("/v")
def verify_form(request: Request, _browser: OptionalBrowser, code: str = "") -> Response:
    """The form to type a code printed on a notice; a typed code goes on to its page."""
    normal = normalize_code(code)[:CODE_LENGTH * 2]
    if normal:
        return RedirectResponse(f"/v/{normal}", status_code=303)
    return render(request, "verify.html", {"code": "", "notice": None, "limited": 0})


@router.get("/v/{code}")
def verify_page(code: str, request: Request, session: SessionDep, _browser: OptionalBrowser) -> Response:
    """One notice as the public may see it, by its verification code."""
    client = request.client.host if request.client else "unknown"
    wait = limiter.allow(client)
    if wait:
        _LOGGER.warning("verification lookups from %s rate-limited", client)
        response = render(request, "verify.html", {"code": code[:32], "notice": None, "limited": int(wait) + 1},
                          status_code=429)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    notice = find_by_code(session, code)
    if notice is None:
        return render(request, "verify.html", {"code": code[:32], "notice": None, "limited": 0}, status_code=404)
    status = notice_status(session, notice)
    rows = renderings(session, notice.id or 0)
    files = [{"no": i, "when": r.rendered_at, "fingerprint": _grouped(r.fingerprint[:32]) if r.fingerprint else "",
              "sha256": _grouped(r.sha256[:32])} for i, r in enumerate(rows, start=1)]
    view = {
        "number": notice.number, "title": (notice.data or {}).get("title") or _title(notice.kind),
        "issuer": notice.issuer, "addressee": notice.addressee, "issued_on": notice.issued_on,
        "code": display_code(notice.verify_code), "text_fingerprint": _grouped(notice.content_hash),
        "in_force": status.in_force, "status_zh": status.zh, "files": files,
    }
    response = render(request, "verify.html", {"code": code, "notice": view, "limited": 0})
    response.headers["Cache-Control"] = "no-store"
    return response
