"""Console sessions: a random token in an HttpOnly, SameSite=Strict cookie; the database
keeps only its SHA-256, the user, the role and the session's CSRF token.

A session ends at logout, after `session_idle_minutes` without a request, or
`session_max_hours` after login, whichever comes first.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Optional, Tuple

import sqlalchemy as sa

from core.settings import StaffSettings
from staff.tables import SESSIONS

COOKIE = "fz_staff_session"
# The login form's own CSRF token (double submit: cookie and hidden field), since there
# is no session yet to hold one.
LOGIN_COOKIE = "fz_staff_login"
COOKIE_PATH = "/staff"
# last_seen_at is written at most this often: not one write per page view.
TOUCH_EVERY_SECONDS = 60


@dataclass(frozen=True)
class Session:
    token_hash: str
    username: str
    role: str
    csrf_token: str
    created_at: float
    last_seen_at: float


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same_token(expected: str, given: Optional[str]) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), str(given).encode("utf-8", "replace"))


def create_session(engine: sa.engine.Engine, username: str, role: str, now: float) -> Tuple[str, Session]:
    token = new_token()
    session = Session(token_hash(token), username, role, new_token(), now, now)
    with engine.begin() as connection:
        connection.execute(SESSIONS.insert().values(**session.__dict__))
    return token, session


def _expired(session, settings: StaffSettings, now: float) -> bool:
    return (now - session.last_seen_at > settings.session_idle_minutes * 60
            or now - session.created_at > settings.session_max_hours * 3600)


def load_session(engine: sa.engine.Engine, token: Optional[str], settings: StaffSettings,
                 now: float) -> Optional[Session]:
    """The live session of `token`, or None (unknown, forged or expired: ended here)."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    with engine.connect() as connection:
        row = connection.execute(sa.select(SESSIONS).where(SESSIONS.c.token_hash == digest)).first()
    if row is None:
        return None
    if _expired(row, settings, now):
        end_session(engine, digest)
        return None
    session = Session(**row._mapping)
    if now - session.last_seen_at > TOUCH_EVERY_SECONDS:
        with engine.begin() as connection:
            connection.execute(SESSIONS.update().where(SESSIONS.c.token_hash == digest)
                               .values(last_seen_at=now))
    return session


def end_session(engine: sa.engine.Engine, digest: str) -> None:
    with engine.begin() as connection:
        connection.execute(SESSIONS.delete().where(SESSIONS.c.token_hash == digest))


def end_expired_sessions(engine: sa.engine.Engine, settings: StaffSettings, now: float) -> None:
    with engine.begin() as connection:
        connection.execute(SESSIONS.delete().where(sa.or_(
            SESSIONS.c.last_seen_at < now - settings.session_idle_minutes * 60,
            SESSIONS.c.created_at < now - settings.session_max_hours * 3600,
        )))
