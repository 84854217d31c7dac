"""Dashboard users, API keys and browser sessions in the inventory (tables web_user, web_session).

An API key is `twk_<key id>_<secret>`: the key id finds the row, the whole key is checked against an argon2id
hash. A session cookie value is 32 random bytes; only its SHA-256 is stored (it is as strong as a key, so a
slow hash adds nothing). Neither a key nor a cookie value is ever stored or logged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from tokenward.errors import StoreError
from tokenward.store import tables as t
from tokenward.store.inventory import Inventory

KEY_PREFIX = "twk_"
_hasher = PasswordHasher()  # argon2id, the library's current recommended parameters


@dataclass(frozen=True)
class User:
    """A dashboard user as the web app sees it (never the key or its hash)."""

    user_id: int
    name: str
    role: str


@dataclass(frozen=True)
class Session:
    """A live browser session: its user and the CSRF token every form of the session carries."""

    user: User
    csrf: str
    expires_at: datetime


def digest(value: str) -> str:
    """SHA-256 hex of a high-entropy random value (session cookies)."""
    return hashlib.sha256(value.encode()).hexdigest()


def add_user(inventory: Inventory, name: str, role: str, at: datetime) -> str:
    """Create a user with a fresh API key; returns the key (shown once, stored only as a hash)."""
    if role not in t.ROLES:
        raise StoreError(f"unknown role {role!r} (choose from {', '.join(t.ROLES)})")
    if not name.strip() or len(name) > 64:
        raise StoreError("a user name is 1 to 64 characters")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    key = f"{KEY_PREFIX}{key_id}_{secret}"
    row = {"name": name, "role": role, "key_id": key_id, "key_hash": _hasher.hash(key), "created_at": at}
    try:
        with inventory.engine.begin() as conn:
            conn.execute(insert(t.web_user), row)
    except IntegrityError:
        raise StoreError(f"a user named {name!r} already exists") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"adding the user ({inventory}): {type(exc).__name__}") from None
    return key


def user_for_key(inventory: Inventory, key: str) -> User | None:
    """The enabled user whose API key this is, or None."""
    parts = key.strip().split("_")
    if len(parts) < 3 or f"{parts[0]}_" != KEY_PREFIX or len(parts[1]) != 16:
        return None
    u = t.web_user.c
    query = select(u.user_id, u.name, u.role, u.key_hash).where(u.key_id == parts[1], u.disabled.is_(False))
    with inventory.errors("checking the API key"), inventory.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    try:
        _hasher.verify(row.key_hash, key.strip())
    except (VerificationError, InvalidHashError):
        return None
    return User(row.user_id, row.name, row.role)


def list_users(inventory: Inventory) -> list[tuple[User, datetime, bool]]:
    """Every user with when it was created and whether it is disabled."""
    u = t.web_user.c
    query = select(u.user_id, u.name, u.role, u.created_at, u.disabled).order_by(u.name)
    with inventory.errors("listing users"), inventory.engine.connect() as conn:
        return [(User(r.user_id, r.name, r.role), r.created_at, bool(r.disabled)) for r in conn.execute(query)]


def start_session(inventory: Inventory, user: User, at: datetime, lifetime: timedelta) -> tuple[str, Session]:
    """A new session for user: (cookie value, session); expired sessions are cleared on the way."""
    value, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    s = t.web_session
    with inventory.errors("starting a session"), inventory.engine.begin() as conn:
        conn.execute(delete(s).where(s.c.expires_at < at))
        conn.execute(insert(s), {"session_hash": digest(value), "user_id": user.user_id, "csrf": csrf,
                                 "created_at": at, "expires_at": at + lifetime})
    return value, Session(user, csrf, at + lifetime)


def session_for(inventory: Inventory, value: str, at: datetime) -> Session | None:
    """The unexpired session of a cookie value (its user still enabled), or None."""
    s, u = t.web_session.c, t.web_user.c
    query = (select(u.user_id, u.name, u.role, s.csrf, s.expires_at)
             .join_from(t.web_session, t.web_user, s.user_id == u.user_id)
             .where(s.session_hash == digest(value), s.expires_at > at, u.disabled.is_(False)))
    with inventory.errors("reading the session"), inventory.engine.connect() as conn:
        row = conn.execute(query).first()
    return None if row is None else Session(User(row.user_id, row.name, row.role), row.csrf, row.expires_at)


def end_session(inventory: Inventory, value: str) -> None:
    """Forget a session (logout)."""
    s = t.web_session
    with inventory.errors("ending the session"), inventory.engine.begin() as conn:
        conn.execute(delete(s).where(s.c.session_hash == digest(value)))


def disable_user(inventory: Inventory, name: str) -> bool:
    """Disable a user (its key and sessions stop working); False when there is no such user."""
    u = t.web_user
    with inventory.errors("disabling the user"), inventory.engine.begin() as conn:
        return bool(conn.execute(update(u).where(u.c.name == name).values(disabled=True)).rowcount)
