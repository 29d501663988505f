"""Users: creating them, finding them by name or API token, hashing passwords and tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from cases.errors import InvalidInput, NotFound
from cases.models import Township, User, WebSession
from cases.validation import LIMITS, clean_text, for_terminal, is_clean
from workflow.spec import Role

_LOGGER = logging.getLogger(__name__)
_HASHER = PasswordHasher()

SYSTEM_USER = "system"
HUMAN_ROLES = (Role.INSPECTOR, Role.LEAD, Role.REVIEWER, Role.COMMITTEE, Role.ADMIN)
TOWNSHIP_ROLES = (Role.INSPECTOR, Role.LEAD)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(user: User, password: str) -> bool:
    if not user.password_hash:
        return False
    try:
        return _HASHER.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_user(
    session: Session,
    *,
    name: str,
    role: str,
    township_code: str | None = None,
    password: str | None = None,
    display_name: str = "",
    email: str = "",
    password_hash: str = "",
) -> User:
    """Create a user; inspectors and leads need a township, the others must not have one."""
    name = clean_text("user_name", name, required=True)
    display_name = clean_text("display_name", display_name)
    email = clean_text("email", email)
    if password is not None and (not password or len(password) > LIMITS["password"].max
                                 or not is_clean(password, limit=LIMITS["password"].max)):
        raise InvalidInput(f"密码须为 1 到 {LIMITS['password'].max} 个字符，且不含控制字符",
                           f"a password must be 1…{LIMITS['password'].max} characters without control characters")
    if role not in {r.value for r in HUMAN_ROLES}:
        raise InvalidInput(f"角色须为 {'|'.join(r.value for r in HUMAN_ROLES)}",
                           f"role must be one of {'|'.join(r.value for r in HUMAN_ROLES)}")
    if session.exec(select(User).where(User.name == name)).first() is not None:
        raise InvalidInput(f"用户 {name} 已存在", f"user {name} already exists")
    township_id = None
    if role in TOWNSHIP_ROLES:
        if not township_code:
            raise InvalidInput(f"角色 {role} 须指定 --township", f"role {role} needs --township")
        town = session.exec(select(Township).where(Township.code == township_code)).first()
        if town is None:
            raise NotFound(f"镇街编码 {township_code} 不存在", f"no township with code {township_code}")
        township_id = town.id
    elif township_code:
        raise InvalidInput(f"角色 {role} 面向全区，不能指定镇街", f"role {role} is district-wide: no --township")
    user = User(name=name, role=role, township_id=township_id, display_name=display_name or name,
                email=email, password_hash=hash_password(password) if password else password_hash)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def get_user(session: Session, name: str, *, inactive: bool = False) -> User:
    """The user by name; a disabled user counts as absent unless `inactive`."""
    user = session.exec(select(User).where(User.name == name)).first() if is_clean(name) else None
    if user is None or not (user.active or inactive) or (user.role == Role.SYSTEM.value and inactive):
        raise NotFound(f"用户 {for_terminal(name)} 不存在", f"no user named {for_terminal(name)}")
    return user


def disable_user(session: Session, name: str) -> User:
    """Disable an account: it can no longer sign in, its browser sessions end and its API token stops working."""
    user = get_user(session, name, inactive=True)
    user.active = False
    user.token_hash = ""
    session.add(user)
    session.execute(sa.delete(WebSession).where(sa.column("user_id") == user.id))
    session.commit()
    _LOGGER.warning("user %s disabled: sessions and API token revoked", user.name)
    return user


def enable_user(session: Session, name: str) -> User:
    """Enable a disabled account again (it needs a new API token: the old one was revoked)."""
    user = get_user(session, name, inactive=True)
    user.active = True
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.commit()
    _LOGGER.warning("user %s enabled", user.name)
    return user


def unlock_user(session: Session, name: str) -> User:
    """Lift a sign-in lock-out now and forget the failed attempts."""
    user = get_user(session, name, inactive=True)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    session.commit()
    _LOGGER.warning("user %s unlocked", user.name)
    return user


def system_user(session: Session) -> User:
    """The system actor (created by `tuoyou init`): it may only `expire`."""
    user = session.exec(select(User).where(User.name == SYSTEM_USER)).first()
    if user is None:
        user = User(name=SYSTEM_USER, role=Role.SYSTEM.value, display_name="系统")
        session.add(user)
        session.commit()
    return user


def issue_token(session: Session, user: User) -> str:
    """A new API token for the user (the previous one stops working); only its hash is stored."""
    token = f"ty_{secrets.token_urlsafe(32)}"
    user.token_hash = _token_digest(token)
    session.add(user)
    session.commit()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token or len(token) > 200:
        return None
    user = session.exec(select(User).where(User.token_hash == _token_digest(token))).first()
    return user if user is not None and user.active else None
