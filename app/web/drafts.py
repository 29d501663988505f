"""Form drafts: what a page's form held when it could not be saved, kept on the server and given back.

Two things send a form here instead of losing it:
- the session ended (expired, or another tab signed in anew) while the user was typing: the
  POST is kept as a draft of the user whose session it was (proved by the session cookie and
  the form's CSRF token, which still name that session), and after signing in the page shows
  the draft again with "登录已过期，已为您保留填写的内容";
- a rule refused the form (a guard, a stale version, a bad file): the page is shown again at
  its own address (post/redirect/get) with the message and what was typed.

Uploaded files of a kept form are checked and written to the content store at once; they
become evidence of the case when the signed-in user opens the page again.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile

from cases import evidence as ev
from cases.errors import TuoyouError
from cases.models import FormDraft, User, WebSession

_LOGGER = logging.getLogger(__name__)

EXPIRED_ZH = "登录已过期，已为您保留填写的内容"
STALE_FORM_ZH = "页面已过期（您已重新登录），已为您保留填写的内容，请核对后重新提交"
KEEP_DAYS = 14  # a draft nobody came back for is dropped after this
MAX_FIELDS = 400
MAX_VALUE = 20_000  # what was typed comes back whole (the service refuses what is too long)
NOT_KEPT = frozenset({"csrf_token", "files"})
LIST_PREFIX = "evidence"  # evidence, evidence_<item code>: lists of content hashes

# The page each form is posted from: a POST to the left goes back to the page on the right.
# Other faces add their forms here (e.g. a 送达 form on the case page) with `register_form`.
FORM_PAGES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^/cases/(\d+)/[a-z_-]+(/.*)?$"), r"/cases/\1"),
    (re.compile(r"^/points$"), "/points/new"),
    (re.compile(r"^/designation/new$"), "/designation/new"),
]


def register_form(pattern: str, page: str) -> None:
    """Declare that forms posted to paths matching `pattern` come from (and return to) `page`."""
    FORM_PAGES.append((re.compile(pattern), page))


PAGE_RE = re.compile(r"^/cases/\d{1,12}$|^/points/new$|^/designation/new$")


def page_for(path: str, back: str | None = None) -> str | None:
    """The page a form posted to `path` belongs to, if it is a form page that keeps drafts.

    A form posted elsewhere (e.g. /notices/5/deliver) names its page in a hidden `back` field;
    only a case page or the registration page is taken from it.
    """
    for pattern, page in FORM_PAGES:
        if pattern.match(path):
            return pattern.sub(page, path)
    if back and PAGE_RE.match(back):
        return back
    return None


def case_of(page: str) -> int | None:
    m = re.fullmatch(r"/cases/(\d+)", page)
    return int(m.group(1)) if m else None


@dataclass
class Restored:
    """A draft as a page shows it: the values to fill in, and why it was kept."""

    values: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    status: str = ""  # expired / error / conflict
    allowed: list[str] | None = None

    def get(self, key: str, default: Any = "") -> Any:
        return self.values.get(key, default)

    def __bool__(self) -> bool:
        return bool(self.values) or bool(self.message)


def form_values(form: FormData) -> dict[str, Any]:
    """The text fields of a posted form (lists for repeated fields), bounded in number and size."""
    out: dict[str, Any] = {}
    for key in list(form.keys())[:MAX_FIELDS]:
        if key in NOT_KEPT or key.startswith(("_", "files")):
            continue
        texts = [str(v)[:MAX_VALUE] for v in form.getlist(key) if isinstance(v, str)]
        if not texts:
            continue
        out[key[:100]] = texts if key.startswith(LIST_PREFIX) else texts[-1]
    return out


def save(session: Session, *, user_id: int, page: str, values: dict[str, Any], now: datetime,
         message: str = "", status: str = "", allowed: list[str] | None = None,
         files: list[dict[str, Any]] | None = None, kind: str = "form") -> FormDraft:
    """Keep (or replace) the user's draft of one page's form; files already kept are carried over."""
    row = session.exec(select(FormDraft).where(FormDraft.user_id == user_id, FormDraft.page == page,
                                               FormDraft.kind == kind)).first()
    data = {**values, "_status": status, "_allowed": allowed}
    if row is None:
        row = FormDraft(user_id=user_id, case_id=case_of(page), page=page, kind=kind, data=data,
                        files=list(files or []), message=message, created_at=now, updated_at=now)
    else:
        row.data = data
        row.files = [*row.files, *(files or [])]
        row.message = message
        row.updated_at = now
    session.add(row)
    session.execute(sa.delete(FormDraft).where(sa.column("updated_at") < now - timedelta(days=KEEP_DAYS)))
    session.commit()
    return row


def discard(session: Session, *, user_id: int | None, page: str, kind: str = "form") -> None:
    session.execute(sa.delete(FormDraft).where(sa.column("user_id") == user_id, sa.column("page") == page,
                                               sa.column("kind") == kind))
    session.commit()


def restore(session: Session, *, user: User, page: str, data_dir: Path, now: datetime,
            kind: str = "form") -> Restored:
    """The user's draft of a page, once: its message is shown once, its files become evidence now."""
    row = session.exec(select(FormDraft).where(FormDraft.user_id == user.id, FormDraft.page == page,
                                               FormDraft.kind == kind)).first()
    if row is None:
        return Restored()
    values = {k: v for k, v in row.data.items() if not k.startswith("_")}
    out = Restored(values=values, message=row.message, status=str(row.data.get("_status") or ""),
                   allowed=row.data.get("_allowed"))
    changed = bool(row.message)
    case_id = case_of(page)
    if row.files and case_id is not None:
        for f in row.files:
            try:
                kept = ev.Kept(**{k: f[k] for k in ("sha256", "filename", "content_type", "size", "thumbnail")})
            except (KeyError, TypeError):
                continue
            ev.attach(session, case_id=case_id, user=user, kept=kept, now=now)
            # a photo taken for one checklist item (field files_<code>) stays with that item
            fld = str(f.get("field") or "files")
            target = "evidence" + fld[len("files"):] if fld.startswith("files") else "evidence"
            hashes = list(values.get(target) or [])
            if kept.sha256 not in hashes:
                hashes.append(kept.sha256)
            values[target] = hashes
        row.files = []
        changed = True
    if changed:
        row.data = {**values, "_status": "", "_allowed": None}
        row.message = ""
        session.add(row)
        session.commit()
    return out


def keep_refused(session: Session, *, user: User, page: str, form: FormData, exc: TuoyouError, now: datetime,
                 kind: str = "form", status: str = "error") -> None:
    """Keep a refused form's values with the reason, for the page to show after the redirect."""
    assert user.id is not None
    save(session, user_id=user.id, page=page, values=form_values(form), now=now, message=exc.zh,
         status=status, allowed=exc.allowed, kind=kind)


# -- forms posted without a valid session ----------------------------------------------------


def owner_of_form(session: Session, *, token: str | None, csrf: str) -> User | None:
    """The user whose (possibly ended) session posted this form: cookie and CSRF token must agree.

    A form carries its session's CSRF token; when that session has expired, the cookie still
    names it, and the two together show whose typing this is, though not enough to act on it.
    """
    from app.web.security import same_token, token_digest

    if not token or len(token) > 100 or not csrf:
        return None
    row = session.exec(select(WebSession, User).join(User, User.id == WebSession.user_id)  # type: ignore[arg-type]
                       .where(WebSession.token_hash == token_digest(token))).first()
    if row is None:
        return None
    web_session, user = row
    if not user.active or not same_token(csrf, web_session.csrf_token):
        return None
    return user  # type: ignore[no-any-return]


def owner_by_csrf(session: Session, *, user: User, csrf: str) -> bool:
    """Whether `csrf` is the token of one of this user's own sessions (an older tab's form)."""
    if not csrf or len(csrf) > 100:
        return False
    q = select(WebSession.id).where(WebSession.user_id == user.id, WebSession.csrf_token == csrf)
    return session.exec(q).first() is not None


def keep_posted(session: Session, *, user: User, page: str, form: FormData, data_dir: Path, now: datetime,
                message: str) -> bool:
    """Keep a form posted when it could not be acted on, with its uploaded files (each tagged by its field).

    Returns whether there was anything to keep (a bare button such as 放弃 holds nothing).
    """
    assert user.id is not None
    files: list[dict[str, Any]] = []
    for key, f in form.multi_items():
        if not isinstance(f, UploadFile) or not f.filename:
            continue
        try:
            data = ev.read_limited(f.file)
            files.append({**ev.keep(data_dir=data_dir, filename=f.filename, data=data).as_dict(), "field": key})
        except TuoyouError as exc:  # a bad file is not a reason to lose the typing
            _LOGGER.info("draft of %s: file %r not kept: %s", user.name, f.filename, exc.en)
    values = form_values(form)
    if not files and not any(k not in ("trigger", "expected_version", "step") for k in values):
        return False
    save(session, user_id=user.id, page=page, values=values, now=now, message=message, status="expired",
         files=files)
    _LOGGER.info("kept a draft of %s for %s (%d files)", user.name, page, len(files))
    return True
