"""The audit trail: every view and change in the console, who, what, when, from where,
and whether it was allowed. Written before the page is sent: a view that cannot be
audited is not served."""

import time
from typing import Optional

import sqlalchemy as sa

from staff.tables import AUDIT

# What was done (the `action` column).
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGIN_LOCKED = "login_locked"
LOGIN_RATE_LIMITED = "login_rate_limited"
LOGOUT = "logout"
VIEW_QUEUE = "view_queue"
VIEW_HANDOFF = "view_handoff"
FIND_HANDOFF = "find_handoff"
CHANGE_STATUS = "change_status"
VIEW_REPORT = "view_report"
DOWNLOAD_CSV = "download_report_csv"
ACCESS = "access"  # a refused request that named no particular view

ALLOWED, REFUSED = "allowed", "refused"


def record(engine: sa.engine.Engine, username: Optional[str], action: str, target: Optional[str],
           outcome: str, ip: Optional[str], now: Optional[float] = None) -> None:
    with engine.begin() as connection:
        connection.execute(AUDIT.insert().values(
            at=time.time() if now is None else now,
            username=(username or None) and username[:64],
            action=action,
            target=(target or None) and target[:255],
            outcome=outcome,
            ip=(ip or None) and ip[:64],
        ))
