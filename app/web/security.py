"""Who is asking and may they: browser sessions, CSRF tokens, sign-in lock-out, security headers.

A browser session is a random token in an HttpOnly, SameSite=Lax cookie; the `web_session`
table holds only its sha256, the user and the session's CSRF token, so signing out (deleting
the row) ends it everywhere at once. Every POST form carries the CSRF token in a hidden field.
The sign-in form, which comes before any session, uses a double-submit cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session, select
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cases.models import User, UTCDateTime, WebSession
from cases.users import check_password
from cases.validation import is_clean

_LOGGER = logging.getLogger(__name__)

SESSION_COOKIE = "tuoyou_session"
LOGIN_CSRF_COOKIE = "tuoyou_login_csrf"
CSRF_FIELD = "csrf_token"
SESSION_HOURS = 12
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15
ENDED_KEPT_DAYS = 7  # an expired session row is kept this long to recognise its forms
MAX_BODY_BYTES = 25 * 1024 * 1024  # the largest upload plus the form around it

_DUMMY_HASH = PasswordHasher().hash(secrets.token_hex(8))  # equal timing for unknown names

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), microphone=(), camera=(self)"),
)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens; empty never matches."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


# -- sessions --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """A request's signed-in user and the CSRF token of their session."""

    user: User
    session_id: int
    csrf_token: str


def create_session(session: Session, user: User, *, now: datetime, user_agent: str = "") -> str:
    """Start a browser session for `user`; returns the cookie value (only its hash is stored)."""
    assert user.id is not None
    token = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_digest(token), user_id=user.id, csrf_token=new_csrf_token(),
                           created_at=now, expires_at=now + timedelta(hours=SESSION_HOURS),
                           user_agent=user_agent[:200]))
    # sessions of this user that ended long ago are of no use to anyone (a recently ended one still
    # names whose form it was, so that what was typed into it is kept as a draft: see app.web.drafts)
    session.execute(sa.delete(WebSession).where(sa.column("user_id") == user.id,
                                                sa.column("expires_at") < now - timedelta(days=ENDED_KEPT_DAYS)))
    session.commit()
    return token


def session_user(session: Session, token: str | None, *, now: datetime) -> SignedIn | None:
    """The signed-in user behind a cookie value, if the session exists, runs and the user is active."""
    if not token or len(token) > 100:
        return None
    row = session.exec(
        select(WebSession, User).join(User, User.id == WebSession.user_id)  # type: ignore[arg-type]
        .where(WebSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    web, user = row
    if web.expires_at <= now or not user.active:
        return None
    assert web.id is not None
    session.expunge(user)  # a snapshot: later commits or rollbacks of the request must not expire it
    return SignedIn(user=user, session_id=web.id, csrf_token=web.csrf_token)


def end_session(session: Session, session_id: int) -> None:
    session.execute(sa.delete(WebSession).where(sa.column("id") == session_id))
    session.commit()


# -- sign-in with lock-out -------------------------------------------------------------------


@dataclass(frozen=True)
class SignInResult:
    """The signed-in user, or None; a failure never says whether the name exists or is locked."""

    user: User | None
    locked_until: datetime | None = None  # for the log only: never shown to the person signing in


_USERS = User.__table__  # type: ignore[attr-defined]
_COUNT_FAILURE = (
    _USERS.update()
    .where(_USERS.c.id == sa.bindparam("_id"),
           sa.or_(_USERS.c.locked_until.is_(None), _USERS.c.locked_until <= sa.bindparam("_now")))
    .values(
        failed_logins=sa.case((_USERS.c.failed_logins + 1 >= MAX_FAILED_LOGINS, 0),
                              else_=_USERS.c.failed_logins + 1),
        locked_until=sa.case((_USERS.c.failed_logins + 1 >= MAX_FAILED_LOGINS,
                              sa.bindparam("_lock", type_=UTCDateTime())), else_=None),
    )
    .returning(_USERS.c.locked_until)
)
_RESET_ON_SUCCESS = (
    _USERS.update()
    .where(_USERS.c.id == sa.bindparam("_id"),
           sa.or_(_USERS.c.locked_until.is_(None), _USERS.c.locked_until <= sa.bindparam("_now")))
    .values(failed_logins=0, locked_until=None)
)


def sign_in(session: Session, name: str, password: str, *, now: datetime) -> SignInResult:
    """Check a name and password; count failures and lock the account after too many.

    After `MAX_FAILED_LOGINS` wrong passwords the account is locked for `LOCK_MINUTES`; while
    locked even the right password is refused. The count is kept by one atomic UPDATE (the
    database adds one and says whether that locked the account), so parallel guesses are all
    counted. Unknown, disabled and locked names take the same time and get the same answer.
    """
    name = name.strip()
    user = session.exec(select(User).where(User.name == name)).first() if is_clean(name, limit=64) else None
    if user is None or not user.active or not user.password_hash:
        _burn_time(password)
        return SignInResult(None)
    right = check_password(user, password)  # always verified: a locked account takes as long as any other
    conn = session.connection()
    if right:
        if conn.execute(_RESET_ON_SUCCESS, {"_id": user.id, "_now": now}).rowcount == 1:
            session.commit()
            return SignInResult(user)
        session.rollback()
        return SignInResult(None, locked_until=user.locked_until)
    lock = now + timedelta(minutes=LOCK_MINUTES)
    row = conn.execute(_COUNT_FAILURE, {"_id": user.id, "_now": now, "_lock": lock}).first()
    session.commit()
    if row is None:  # already locked: the attempt does not extend the lock
        return SignInResult(None, locked_until=user.locked_until)
    locked = row[0]
    if locked is not None:
        _LOGGER.warning("user %s locked until %s after repeated failed sign-ins", user.name, locked)
    return SignInResult(None, locked_until=locked)


def _burn_time(password: str) -> None:
    """Verify against a dummy hash so that unknown names take as long as wrong passwords."""
    try:
        PasswordHasher().verify(_DUMMY_HASH, password)
    except Exception:  # the outcome is irrelevant, only the time spent
        return


def safe_next(target: str | None) -> str:
    """A local path to go to after signing in; anything else (other hosts, schemes) goes home."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- headers and request size ----------------------------------------------------------------


class SecurityHeaders:
    """Adds the security headers to every response and refuses request bodies that are too large."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await _too_large(send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                if not path.startswith("/static/") and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, counted_receive, send_with_headers)
        except BodyTooLarge:
            await _too_large(send)


class BodyTooLarge(Exception):
    """The request body is larger than any upload may be."""


async def _too_large(send: Send) -> None:
    body = "上传内容过大（上限 25 MB）/ request body too large".encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS]})
    await send({"type": "http.response.body", "body": body})


class HeadAsGet:
    """Answers HEAD like GET without the body (link checkers, monitors and some phones send HEAD)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
