"""SQLAlchemy engines for the databases the assistant's own rows live in.

The records share the tracker store's database with Rasa. On SQLite that means one writer
at a time for the Rasa server, the action server and the staff console, so every engine
made here waits up to SQLITE_BUSY_SECONDS for the lock instead of Python's 5 seconds.
"""

from __future__ import annotations

import threading
from typing import Callable, Dict, Tuple

import sqlalchemy as sa

SQLITE_BUSY_SECONDS = 15

_cached: Dict[Tuple[str, Callable], sa.engine.Engine] = {}
_cache_lock = threading.Lock()


def create_engine(url: "str | sa.engine.URL", search_path: str = "") -> sa.engine.Engine:
    """An engine for `url`; on PostgreSQL `search_path` is the schema looked in first."""
    parsed = sa.engine.make_url(url)
    kwargs: dict = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False}
    elif search_path:
        kwargs["connect_args"] = {"options": f"-csearch_path={search_path}"}
    return sa.create_engine(parsed, future=True, **kwargs)


def engine_with_tables(url: str, create_tables: Callable[[sa.engine.Engine], None]) -> sa.engine.Engine:
    """One engine per URL for the process, made once with `create_tables` run on it."""
    with _cache_lock:
        engine = _cached.get((url, create_tables))
        if engine is None:
            engine = create_engine(url)
            create_tables(engine)
            _cached[(url, create_tables)] = engine
        return engine
