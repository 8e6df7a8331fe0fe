"""Handoff records: who asked for a person, about what, so bank staff can follow up.

Written to the tracker store's own database (SQLite by default, PostgreSQL in the
scale-out profile), in a table of ours beside Rasa's `events`.
"""

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
import yaml

from core.settings import Settings

# Letters only: a reference must never look like a phone number to the customer (or to
# the check that every number said is official). No I or O, which read as 1 and 0.
REFERENCE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

_METADATA = sa.MetaData()
HANDOFF_TABLE = sa.Table(
    "handoff_requests",
    _METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("reference", sa.String(16), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("scam_type", sa.String(64)),
    sa.Column("risk", sa.String(16)),
    sa.Column("atm_id", sa.String(32)),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class HandoffRequest:
    conversation_id: str
    scam_type: Optional[str]
    risk: Optional[str]
    atm_id: Optional[str]
    requested_at: datetime


def new_reference() -> str:
    return "FZ-" + "".join(secrets.choice(REFERENCE_LETTERS) for _ in range(6))


# Rasa's SQL store, and ours on the same tables (server/runtime/tracker_store.py).
SQL_TRACKER_STORES = ("sql", "server.runtime.tracker_store.cachingsqltrackerstore")


def tracker_store_url(endpoints_file: Path) -> str:
    """The SQLAlchemy URL of the SQL tracker store that endpoints_file configures."""
    config = yaml.safe_load(endpoints_file.read_text(encoding="utf-8")) or {}
    store = {k: os.path.expandvars(str(v)) for k, v in (config.get("tracker_store") or {}).items()}
    if store.get("type", "").lower() not in SQL_TRACKER_STORES:
        raise ValueError(f"{endpoints_file}: handoff records need an SQL tracker store")
    dialect = store.get("dialect", "sqlite")
    if dialect == "sqlite":
        return f"sqlite:///{store.get('db', 'rasa.db')}"
    return str(sa.engine.URL.create(
        dialect,
        username=store.get("username"),
        password=store.get("password"),
        host=store.get("url") or store.get("host"),
        port=int(store["port"]) if store.get("port") else None,
        database=store.get("db"),
    ))


def handoff_db_url(config: Settings) -> str:
    """HANDOFF_DB_URL, else the tracker store of ENDPOINTS (default endpoints.yml)."""
    return config.handoff_db_url or tracker_store_url(config.endpoints_file)


_engines = {}


def _engine(url: str) -> sa.engine.Engine:
    if url not in _engines:
        engine = sa.create_engine(url, future=True)
        _METADATA.create_all(engine, checkfirst=True)
        _engines[url] = engine
    return _engines[url]


def record_handoff(url: str, request: HandoffRequest) -> str:
    """Stores the request; returns its reference (retried on the rare collision)."""
    engine = _engine(url)
    for _ in range(5):
        reference = new_reference()
        try:
            with engine.begin() as connection:
                connection.execute(HANDOFF_TABLE.insert().values(
                    reference=reference,
                    conversation_id=request.conversation_id,
                    scam_type=request.scam_type,
                    risk=request.risk,
                    atm_id=request.atm_id,
                    requested_at=request.requested_at,
                ))
            return reference
        except sa.exc.IntegrityError:
            continue
    raise RuntimeError("could not find a free handoff reference")


def now() -> datetime:
    return datetime.now(timezone.utc)
