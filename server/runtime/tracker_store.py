"""Rasa's SQL tracker store, with live conversations kept in memory.

Stock `SQLTrackerStore` runs its queries on the server's event loop (every other
conversation waits for the disk) and, every turn, counts the stored events and reloads
and replays the whole session. This store writes to the same `events` table, so the
retention job, the handoff records and the event relay see the same rows, but:

- it keeps the tracker of each recent conversation in memory (least recently used out
  first, and none idle longer than `cache_seconds`) and, on save, inserts only the events
  added since;
- every query runs on one database thread, off the event loop;
- the tracker it keeps is bounded (history.py), so turn 200 costs what turn 10 does.

`check_database: true` (several Sanic workers or servers on one database) asks the
database before each turn whether another one wrote to the conversation, and reloads it
if so. One server on its own database (the default) skips that query.

The rest of the runtime (action calls, NLU cache, graph runner) is installed by
server/runtime/plugin.py, from the server's entry point.
"""

import asyncio
import itertools
import json
import logging
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

from server.runtime.history import DEFAULT_KEEP_TURNS, DEFAULT_MAX_TURNS, bounded_tracker

logger = logging.getLogger(__name__)
Result = TypeVar("Result")


def _as_bool(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class _Kept:
    tracker: DialogueStateTracker
    stored: int  # how many of tracker.events are in the database
    last_id: Optional[int]  # the newest row of this conversation we know of
    used_at: float


class CachingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore that keeps live trackers in memory and writes off the event loop.

    endpoints.yml: `type: server.runtime.tracker_store.CachingSQLTrackerStore`, the options of
    Rasa's SQL store (dialect, url, db, ...), and optionally cache_size (default 1000
    conversations), cache_seconds (3600), keep_turns (4), max_turns (8) and
    check_database (false).
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        cache_size: int = 1000,
        cache_seconds: float = 3600,
        keep_turns: int = DEFAULT_KEEP_TURNS,
        max_turns: int = DEFAULT_MAX_TURNS,
        check_database: Any = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain=domain, **kwargs)
        if self.engine.dialect.name == "sqlite":
            self._keep_sqlite_connections_open()
        self.cache_size = int(cache_size)
        self.cache_seconds = float(cache_seconds)
        self.keep_turns = int(keep_turns)
        self.max_turns = max(int(max_turns), self.keep_turns)
        self.check_database = _as_bool(check_database)
        self._kept: "OrderedDict[str, _Kept]" = OrderedDict()
        # One thread: SQLite allows one writer, and the order of writes is kept.
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracker-db")

    def _keep_sqlite_connections_open(self) -> None:
        """SQLAlchemy opens a new SQLite connection per query; keep them, and use the
        write-ahead log: one fsync per commit instead of several, still durable."""
        engine = sa.create_engine(
            self.engine.url, poolclass=QueuePool, connect_args={"check_same_thread": False}
        )

        @sa.event.listens_for(engine, "connect")
        def _configure(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")

        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sa.orm.session.sessionmaker(bind=engine)

    async def _in_database_thread(self, work: Callable[..., Result], *args: Any) -> Result:
        return await asyncio.get_running_loop().run_in_executor(self._database, work, *args)

    # Reading

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        kept = self._usable(sender_id)
        if kept is not None and self.check_database:
            if await self._in_database_thread(self._newest_id, sender_id) != kept.last_id:
                kept = None
        if kept is not None:
            kept.used_at = time.monotonic()
            self._kept.move_to_end(sender_id)
            return kept.tracker
        self._kept.pop(sender_id, None)
        events, last_id = await self._in_database_thread(self._load_session, sender_id)
        if not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._keep(tracker, last_id)
        return self._kept[sender_id].tracker

    def _usable(self, sender_id: str) -> Optional[_Kept]:
        """The kept tracker if it is fresh and holds nothing unsaved (a turn that failed
        half-way leaves events that never reached the database: reload instead)."""
        kept = self._kept.get(sender_id)
        if kept is None:
            return None
        if time.monotonic() - kept.used_at > self.cache_seconds:
            return None
        if len(kept.tracker.events) != kept.stored:
            return None
        return kept

    def _load_session(self, sender_id: str) -> Tuple[List[dict], Optional[int]]:
        """The latest session's events, selected as Rasa's SQL store does (from the
        newest session_started on), as JSON; and the newest row's id."""
        events = self.SQLEvent.__table__
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(events.c.sender_id == sender_id,
                   events.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        query = (
            sa.select(events.c.id, events.c.data)
            .where(events.c.sender_id == sender_id,
                   sa.or_(events.c.timestamp >= session_start, session_start.is_(None)))
            .order_by(events.c.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [json.loads(row.data) for row in rows], (rows[-1].id if rows else None)

    def _newest_id_query(self, sender_id: str) -> Any:
        events = self.SQLEvent.__table__
        return sa.select(sa.func.max(events.c.id)).where(events.c.sender_id == sender_id)

    def _newest_id(self, sender_id: str) -> Optional[int]:
        with self.engine.connect() as connection:
            return connection.execute(self._newest_id_query(sender_id)).scalar()

    # Writing

    async def save(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        kept = self._kept.get(sender_id)
        if not tracker.events:
            new_events: List[Event] = []
        elif kept is not None and kept.tracker is tracker:
            new_events = list(itertools.islice(tracker.events, kept.stored, None))
        else:
            # A tracker this store did not hand out: what the database lacks, as Rasa does.
            stored = await self._in_database_thread(self._stored_count, sender_id)
            new_events = list(itertools.islice(tracker.events, stored, None))
        try:
            last_id = await self._in_database_thread(self._insert, sender_id, new_events)
        except Exception:
            self._kept.pop(sender_id, None)
            raise
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, sender_id)
        self._keep(tracker, last_id if last_id is not None else (kept and kept.last_id))

    def _stored_count(self, sender_id: str) -> int:
        with self.session_scope() as session:
            return self._event_query(
                session, sender_id, fetch_events_from_all_sessions=False
            ).count()

    def _insert(self, sender_id: str, events: Sequence[Event]) -> Optional[int]:
        """Inserts the rows Rasa's SQL store would, in one statement and transaction;
        returns the conversation's newest row id when check_database needs it."""
        if not events:
            return None
        rows = []
        for event in events:
            data = event.as_dict()
            rows.append({
                "sender_id": sender_id,
                "type_name": event.type_name,
                "timestamp": data.get("timestamp"),
                "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                "action_name": data.get("name"),
                "data": json.dumps(data),
            })
        with self.engine.begin() as connection:
            connection.execute(self.SQLEvent.__table__.insert(), rows)
            if not self.check_database:
                return None
            return connection.execute(self._newest_id_query(sender_id)).scalar()

    def _keep(self, tracker: DialogueStateTracker, last_id: Optional[int]) -> None:
        """Keeps the (bounded) tracker as the conversation's saved state."""
        tracker = bounded_tracker(tracker, self.domain.slots, self.keep_turns, self.max_turns)
        self._kept[tracker.sender_id] = _Kept(
            tracker, len(tracker.events), last_id, time.monotonic()
        )
        self._kept.move_to_end(tracker.sender_id)
        while len(self._kept) > self.cache_size:
            self._kept.popitem(last=False)
