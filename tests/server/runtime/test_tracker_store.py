"""The caching tracker store against a real SQLite file: the rows Rasa's own store would
write, only new events per save, reloads when memory cannot be trusted."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered

from server.runtime.tracker_store import CachingSQLTrackerStore

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[3] / "domain.yml"))


def run(coroutine):
    return asyncio.run(coroutine)


def store(db: Path, **options) -> CachingSQLTrackerStore:
    return CachingSQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db), **options)


def a_turn(number: int) -> list:
    return [
        UserUttered(f"税务局说退税{number}", intent={"name": "scam_tax_refund", "confidence": 0.9}),
        ActionExecuted("action_assess_scam"),
        BotUttered("这是诈骗。"),
        SlotSet("scam_type", "tax_refund"),
        ActionExecuted("action_listen"),
    ]


async def talk(tracker_store, sender: str, turns: int, start: int = 1):
    """What the processor does each turn: fetch (or create), add events, save."""
    for number in range(start, start + turns):
        tracker = await tracker_store.get_or_create_tracker(sender, append_action_listen=False)
        if not tracker.events:
            for event in (ActionExecuted("action_session_start"), SessionStarted(),
                          ActionExecuted("action_listen")):
                tracker.update(event)
        for event in a_turn(number):
            tracker.update(event)
        await tracker_store.save(tracker)


def rows(db: Path, sender: str):
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT type_name, intent_name, action_name, data FROM events "
            "WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()


def test_it_writes_the_rows_rasas_sql_store_writes(tmp_path):
    ours, stock = tmp_path / "ours.db", tmp_path / "stock.db"
    run(talk(store(ours), "alice", 3))
    run(talk(SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(stock)), "alice", 3))
    ours_rows, stock_rows = rows(ours, "alice"), rows(stock, "alice")
    assert len(ours_rows) == len(stock_rows) == 3 + 3 * 5
    # Same columns; the JSON differs only in timestamps.
    assert [r[:3] for r in ours_rows] == [r[:3] for r in stock_rows]


def test_rasas_store_reads_what_it_wrote_and_the_other_way_round(tmp_path):
    db = tmp_path / "rasa.db"
    run(talk(store(db), "bob", 2))
    stock = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db))
    run(talk(stock, "bob", 1, start=3))
    tracker = run(store(db).retrieve("bob"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "税务局说退税1", "税务局说退税2", "税务局说退税3"]


def test_each_save_adds_only_the_new_events(tmp_path):
    db = tmp_path / "rasa.db"
    tracker_store = store(db)
    run(talk(tracker_store, "carol", 1))
    assert len(rows(db, "carol")) == 8
    run(talk(tracker_store, "carol", 1, start=2))
    assert len(rows(db, "carol")) == 13


def test_a_live_conversation_is_served_from_memory(tmp_path):
    tracker_store = store(tmp_path / "rasa.db")
    run(talk(tracker_store, "dave", 1))

    async def twice():
        return await tracker_store.retrieve("dave"), await tracker_store.retrieve("dave")

    first, second = run(twice())
    assert first is second


def test_a_turn_that_failed_half_way_is_not_kept(tmp_path):
    """Events added to the tracker but never saved must not survive in memory."""
    db = tmp_path / "rasa.db"
    tracker_store = store(db)
    run(talk(tracker_store, "erin", 1))

    async def fail_then_fetch():
        tracker = await tracker_store.retrieve("erin")
        tracker.update(UserUttered("这句没有保存"))  # the turn dies before save()
        return await tracker_store.retrieve("erin")

    fetched = run(fail_then_fetch())
    assert "这句没有保存" not in [e.text for e in fetched.events if isinstance(e, UserUttered)]
    stock = run(SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(db)).retrieve("erin"))
    assert [e.as_dict() for e in fetched.events] == [e.as_dict() for e in stock.events]


def test_a_failed_write_is_raised_and_forgotten(tmp_path, monkeypatch):
    tracker_store = store(tmp_path / "rasa.db")
    run(talk(tracker_store, "frank", 1))

    def broken(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(tracker_store, "_insert", broken)
    with pytest.raises(RuntimeError):
        run(talk(tracker_store, "frank", 1, start=2))
    assert "frank" not in tracker_store._kept


def test_servers_sharing_a_database_see_each_others_turns(tmp_path):
    """check_database: two Rasa workers on one database, a conversation hopping between them."""
    db = tmp_path / "rasa.db"
    first, second = store(db, check_database=True), store(db, check_database="true")
    run(talk(first, "grace", 1))
    run(talk(second, "grace", 1, start=2))
    run(talk(first, "grace", 1, start=3))
    tracker = run(second.retrieve("grace"))
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == [
        "税务局说退税1", "税务局说退税2", "税务局说退税3"]
    assert len(rows(db, "grace")) == 3 + 3 * 5


def test_memory_is_bounded_in_conversations_and_in_time(tmp_path, monkeypatch):
    tracker_store = store(tmp_path / "rasa.db", cache_size=2, cache_seconds=60)
    for sender in ("h1", "h2", "h3"):
        run(talk(tracker_store, sender, 1))
    assert list(tracker_store._kept) == ["h2", "h3"]
    # An evicted conversation comes back from the database as Rasa's store reads it.
    stock = SQLTrackerStore(DOMAIN, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    assert len(run(tracker_store.retrieve("h1")).events) == len(run(stock.retrieve("h1")).events)

    import server.runtime.tracker_store as module
    later = module.time.monotonic() + 61
    monkeypatch.setattr(module.time, "monotonic", lambda: later)
    kept = tracker_store._kept["h3"].tracker
    assert run(tracker_store.retrieve("h3")) is not kept


def test_a_long_conversation_is_stored_whole_and_kept_short(tmp_path):
    db = tmp_path / "rasa.db"
    tracker_store = store(db, keep_turns=4, max_turns=8)
    run(talk(tracker_store, "ivan", 30))
    assert len(rows(db, "ivan")) == 3 + 30 * 5
    kept = run(tracker_store.retrieve("ivan"))
    assert 4 <= sum(isinstance(e, UserUttered) for e in kept.events) <= 8
    assert kept.get_slot("scam_type") == "tax_refund"
    # And the next turns are still stored in full.
    run(talk(tracker_store, "ivan", 2, start=31))
    assert len(rows(db, "ivan")) == 3 + 32 * 5
    full = run(store(db).retrieve_full_tracker("ivan"))
    assert sum(isinstance(e, UserUttered) for e in full.events) == 32


def test_new_events_reach_the_event_broker(tmp_path):
    published = []

    class Broker:
        def publish(self, event):
            published.append(event)

    tracker_store = store(tmp_path / "rasa.db", event_broker=Broker())
    run(talk(tracker_store, "judy", 2))
    assert [e["event"] for e in published].count("user") == 2
    assert all(e["sender_id"] == "judy" for e in published)
    assert len(published) == 3 + 2 * 5


def test_sqlite_runs_with_the_write_ahead_log(tmp_path):
    db = tmp_path / "rasa.db"
    run(talk(store(db), "kim", 1))
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
