"""The staff console's own tables, in the same database as the handoff records.

- staff_accounts: who may log in, with which role, and an Argon2id hash of the password.
- staff_login_failures: consecutive wrong passwords per user name, and the lockout.
- staff_sessions: one row per logged-in browser; the cookie holds a random token and
  the table only its SHA-256, so a copy of the database logs nobody in.
- staff_audit: every view and change: who, what, when, from where.

Times are epoch seconds (float), as in Rasa's events table.
"""

import sqlalchemy as sa

METADATA = sa.MetaData()

HOTLINE, RISK = "hotline", "risk"
ROLE_NAMES = {HOTLINE: "热线", RISK: "风控"}

ACCOUNTS = sa.Table(
    "staff_accounts",
    METADATA,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    # "command" (make staff-user) or "config" (STAFF_ACCOUNTS_FILE, synced at start-up).
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

LOGIN_FAILURES = sa.Table(
    "staff_login_failures",
    METADATA,
    # Any name typed, known or not: a lockout that only known names get would tell
    # an attacker which names exist.
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_failed_at", sa.Float, nullable=False),
    sa.Column("locked_until", sa.Float),
)

SESSIONS = sa.Table(
    "staff_sessions",
    METADATA,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
)

AUDIT = sa.Table(
    "staff_audit",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("username", sa.String(64)),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("target", sa.String(255)),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("ip", sa.String(64)),
)


def create_tables(engine: sa.engine.Engine) -> None:
    METADATA.create_all(engine, checkfirst=True)
