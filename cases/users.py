"""Users: creating them, finding them by name or API token, hashing passwords and tokens."""

from __future__ import annotations

import hashlib
import logging
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from cases.errors import InvalidInput, NotFound
from cases.models import Township, User
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
    name = name.strip()
    if not name:
        raise InvalidInput("用户名不能为空", "user name must not be empty")
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


def get_user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None or not user.active:
        raise NotFound(f"用户 {name} 不存在", f"no user named {name}")
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
    if not token:
        return None
    user = session.exec(select(User).where(User.token_hash == _token_digest(token))).first()
    return user if user is not None and user.active else None
