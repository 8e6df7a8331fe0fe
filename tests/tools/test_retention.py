"""Retention: old conversations go whole, recent ones and ones with recent activity stay
whole, dry runs change nothing; on SQLite and PostgreSQL, with conversations written by
Rasa's own SQLTrackerStore."""

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from core.handoff_records import HandoffRequest, record_handoff, tracker_store_url
from tools import retention

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400
HAS_CJK = re.compile(r"[\u4e00-\u9fff]")
ENV_NAMES = ("RETENTION_DAYS", "ENDPOINTS", "HANDOFF_DB_URL", "POSTGRESQL_SCHEMA")
PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Each test chooses its databases and retention itself, whatever the shell exported."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------------------
# Conversations and handoff records as the assistant writes them


def session(started: float, text: str = "税务局说退税"):
    """One session's events as Rasa logs them, a few seconds apart from `started`."""
    return [
        ActionExecuted("action_session_start", timestamp=started),
        SessionStarted(timestamp=started + 0.1),
        ActionExecuted("action_listen", timestamp=started + 0.2),
        UserUttered(text, intent={"name": "scam_tax_refund", "confidence": 0.99},
                    timestamp=started + 1),
        BotUttered("⚠️ 这是诈骗！", timestamp=started + 2),
        ActionExecuted("action_listen", timestamp=started + 3),
    ]


def save_conversation(store: SQLTrackerStore, sender: str, *days_ago: float) -> None:
    """A conversation with one session per age, saved after each session as the server
    does."""
    tracker = DialogueStateTracker(sender, [])
    for age in days_ago:
        for event in session(time.time() - age * DAY):
            tracker.update(event)
        asyncio.run(store.save(tracker))


def add_handoff(url: str, sender: str, days_ago: float) -> None:
    when = datetime.now(timezone.utc) - timedelta(days=days_ago)
    record_handoff(url, HandoffRequest(sender, "tax_refund", "high", None, when))


def events_per_sender(url: str, senders, schema: str = None):
    args = {"connect_args": {"options": f"-csearch_path={schema}"}} if schema else {}
    engine = sa.create_engine(url, future=True, **args)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT sender_id, count(*) FROM events GROUP BY sender_id")
            ).all()
    finally:
        engine.dispose()
    counts = dict(rows)
    return {sender: counts.get(sender, 0) for sender in senders}


def handoff_senders(url: str):
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(
                sa.text("SELECT conversation_id FROM handoff_requests")
            ).scalars())
    finally:
        engine.dispose()


def fill(store, handoff_url, prefix="", schema=None):
    """Old, recent, and old-but-resumed conversations, and handoff records 45, 31 and 2
    days old; returns {sender: events stored}."""
    save_conversation(store, prefix + "old-1", 45)
    save_conversation(store, prefix + "old-2", 400, 31)
    save_conversation(store, prefix + "recent", 2)
    # Began long ago, came back yesterday: its last event is recent, so all of it stays.
    save_conversation(store, prefix + "resumed", 90, 60, 1)
    add_handoff(handoff_url, prefix + "old-1", 45)
    add_handoff(handoff_url, prefix + "resumed", 31)
    add_handoff(handoff_url, prefix + "recent", 2)
    senders = [prefix + name for name in ("old-1", "old-2", "recent", "resumed")]
    counts = events_per_sender(str(store.engine.url), senders, schema)
    assert all(counts.values())
    return counts


def counts_in(output: str):
    """(conversations, events, handoffs) from the English summary line."""
    found = re.search(r"(\d+) conversations \((\d+) events\) and (\d+) handoff records", output)
    assert found, output
    return tuple(int(n) for n in found.groups())


def run_tool(*args, env=None):
    """`python -m tools.retention ARGS` as staff run it, environment cleaned plus `env`."""
    environment = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    environment.update(PYTHONIOENCODING="utf-8", **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "tools.retention", *map(str, args)],
        cwd=ROOT, env=environment, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def assert_rejected(result, code):
    assert result.returncode == code, result
    assert HAS_CJK.search(result.stderr), result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------
# SQLite


@pytest.fixture
def sqlite_db(tmp_path):
    path = tmp_path / "rasa.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    url = f"sqlite:///{path}"
    yield url, store
    store.engine.dispose()


def test_sqlite_dry_run_counts_and_changes_nothing(sqlite_db, capsys):
    url, store = sqlite_db
    before = fill(store, url)
    assert retention.main(["--older-than-days", "30", "--dry-run", "--db-url", url]) == 0
    out = capsys.readouterr().out
    assert counts_in(out) == (2, before["old-1"] + before["old-2"], 2)
    assert "试运行" in out and "Dry run" in out
    assert events_per_sender(url, before) == before
    assert len(handoff_senders(url)) == 3


def test_sqlite_purge_deletes_old_conversations_whole_and_keeps_the_rest_whole(sqlite_db, capsys):
    url, store = sqlite_db
    before = fill(store, url)
    assert retention.main(["--older-than-days", "30", "--db-url", url]) == 0
    assert counts_in(capsys.readouterr().out) == (2, before["old-1"] + before["old-2"], 2)
    after = events_per_sender(url, before)
    assert after == {**before, "old-1": 0, "old-2": 0}
    # Handoff records go by their own age (the resumed conversation's is 31 days old).
    assert handoff_senders(url) == ["recent"]
    # Rasa still reads what is left, and the resumed conversation has all three sessions.
    resumed = asyncio.run(store.retrieve_full_tracker("resumed"))
    assert len(resumed.events) == before["resumed"]
    # Nothing left to do: a second run deletes nothing.
    assert retention.main(["--older-than-days", "30", "--db-url", url]) == 0
    assert counts_in(capsys.readouterr().out) == (0, 0, 0)


def test_a_longer_retention_keeps_more(sqlite_db, capsys):
    url, store = sqlite_db
    before = fill(store, url)
    assert retention.main(["--older-than-days", "40", "--db-url", url]) == 0
    assert counts_in(capsys.readouterr().out) == (1, before["old-1"], 1)  # old-2 ended 31 days ago
    assert events_per_sender(url, before) == {**before, "old-1": 0}
    assert handoff_senders(url) == ["recent", "resumed"]


def test_many_conversations_are_deleted_in_batches(sqlite_db, monkeypatch, capsys):
    url, store = sqlite_db
    monkeypatch.setattr(retention, "BATCH_SENDERS", 3)
    for i in range(10):  # odd ones old
        save_conversation(store, f"batch-{i}", 35 if i % 2 else 3)
    assert retention.main(["--older-than-days", "30", "--db-url", url]) == 0
    assert counts_in(capsys.readouterr().out)[:2] == (5, 5 * len(session(0)))
    after = events_per_sender(url, [f"batch-{i}" for i in range(10)])
    assert after == {f"batch-{i}": 0 if i % 2 else len(session(0)) for i in range(10)}


def test_default_databases_come_from_endpoints_and_handoff_db_url(tmp_path, monkeypatch, capsys):
    """No --db-url: events from ENDPOINTS' tracker store, handoffs from HANDOFF_DB_URL,
    which may be another database; RETENTION_DAYS sets the days."""
    events_db, handoff_db = tmp_path / "tracker.db", tmp_path / "handoffs.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(events_db))
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{events_db}"\n')
    before = fill(store, f"sqlite:///{handoff_db}")
    monkeypatch.setenv("ENDPOINTS", str(endpoints))
    monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{handoff_db}")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    assert retention.main([]) == 0
    out = capsys.readouterr().out
    assert "Retention 30 days" in out and str(handoff_db) in out
    assert counts_in(out) == (2, before["old-1"] + before["old-2"], 2)
    assert handoff_senders(f"sqlite:///{handoff_db}") == ["recent"]
    store.engine.dispose()


def test_no_handoff_table_yet_is_fine(tmp_path, capsys):
    path = tmp_path / "rasa.db"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    save_conversation(store, "old", 50)
    assert retention.main(["--db-url", f"sqlite:///{path}"]) == 0
    assert counts_in(capsys.readouterr().out)[::2] == (1, 0)
    store.engine.dispose()


# ---------------------------------------------------------------------------
# Command line errors


@pytest.mark.parametrize("days", ["0", "-3", "abc", "1.5", "99999", ""])
def test_bad_days_exit_2(days, tmp_path):
    result = run_tool("--older-than-days", days, "--db-url", f"sqlite:///{tmp_path}/x.db")
    assert_rejected(result, 2)
    assert "1 到 36500" in result.stderr or "expected one argument" in result.stderr


def test_bad_retention_days_variable_exits_2(tmp_path):
    result = run_tool("--db-url", f"sqlite:///{tmp_path}/x.db", env={"RETENTION_DAYS": "forever"})
    assert_rejected(result, 2)
    assert "RETENTION_DAYS" in result.stderr


@pytest.mark.parametrize("args", [
    ["--db-url", "not a url"],
    ["--db-url", "mysql://user@localhost/rasa"],
    ["--unknown"],
    ["--dry-run", "extra"],
])
def test_bad_arguments_exit_2(args):
    assert_rejected(run_tool(*args), 2)


def test_missing_sqlite_database_exits_1_and_creates_nothing(tmp_path):
    missing = tmp_path / "nope.db"
    result = run_tool("--db-url", f"sqlite:///{missing}")
    assert_rejected(result, 1)
    assert str(missing) in result.stderr
    assert not missing.exists()


def test_missing_default_database_exits_1(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: SQL\n  dialect: "sqlite"\n  db: "{tmp_path}/none.db"\n')
    assert_rejected(run_tool("--dry-run", env={"ENDPOINTS": str(endpoints)}), 1)
    assert_rejected(run_tool(env={"ENDPOINTS": str(tmp_path / "no-endpoints.yml")}), 1)
    # The scale-out endpoints file with its variables unset: say which.
    endpoints.write_text("tracker_store:\n  type: SQL\n  dialect: postgresql\n"
                         "  url: ${RETENTION_TEST_HOST}\n  port: ${RETENTION_TEST_PORT}\n")
    result = run_tool(env={"ENDPOINTS": str(endpoints)})
    assert_rejected(result, 1)
    assert "RETENTION_TEST_PORT" in result.stderr


def test_database_without_rasa_events_exits_1(tmp_path):
    other = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{other}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE things (id INTEGER)"))
    engine.dispose()
    result = run_tool("--db-url", f"sqlite:///{other}")
    assert_rejected(result, 1)
    assert "events" in result.stderr


def test_unreachable_postgres_exits_1():
    result = run_tool("--db-url", f"postgresql://postgres:secret@{PG_HOST}:1/{PG_DB}")
    assert_rejected(result, 1)
    assert "secret" not in result.stdout + result.stderr  # the password is never printed


def test_help_is_chinese_and_english():
    result = run_tool("--help")
    assert result.returncode == 0
    assert "用法" in result.stdout and "--older-than-days" in result.stdout
    assert "RETENTION_DAYS" in result.stdout


# ---------------------------------------------------------------------------
# PostgreSQL: each test in a schema of its own, so the shared `events` table (which other
# tests use at the same time) is never touched and nothing is left behind.


def _postgres_user():
    for user in (os.environ.get("PGUSER"), "postgres", "root"):
        if not user:
            continue
        engine = sa.create_engine(f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}")
        try:
            with engine.connect():
                return user
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    return None


@pytest.fixture(scope="module")
def pg_user():
    user = _postgres_user()
    if user is None:
        pytest.fail(f"no PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB}: scripts/test_services.sh")
    return user


@pytest.fixture
def pg_schema(pg_user):
    """(plain URL, URL whose connections use a fresh schema, schema name)."""
    schema = f"retention_test_{uuid.uuid4().hex[:12]}"
    plain = f"postgresql://{pg_user}@{PG_HOST}:{PG_PORT}/{PG_DB}"
    admin = sa.create_engine(plain, future=True)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield plain, f"{plain}?options=-csearch_path%3D{schema}", schema
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.mark.scale
def test_postgres_purge(pg_schema, capsys):
    _, url, _ = pg_schema
    # A full URL as host is how Rasa's SQLTrackerStore accepts query options.
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=url)
    prefix = f"pg-{uuid.uuid4().hex[:8]}-"
    before = fill(store, url, prefix)
    old = before[prefix + "old-1"] + before[prefix + "old-2"]

    assert retention.main(["--older-than-days", "30", "--dry-run", "--db-url", url]) == 0
    assert counts_in(capsys.readouterr().out) == (2, old, 2)
    assert events_per_sender(url, before) == before
    assert len(handoff_senders(url)) == 3

    assert retention.main(["--older-than-days", "30", "--db-url", url]) == 0
    assert counts_in(capsys.readouterr().out) == (2, old, 2)
    assert events_per_sender(url, before) == {**before, prefix + "old-1": 0, prefix + "old-2": 0}
    assert handoff_senders(url) == [prefix + "recent"]
    store.engine.dispose()


@pytest.mark.scale
def test_postgres_from_endpoints_with_postgresql_schema(pg_schema, tmp_path, monkeypatch):
    """The scale-out way: endpoints.yml names PostgreSQL, Rasa's POSTGRESQL_SCHEMA puts
    `events` in a schema, HANDOFF_DB_URL says where handoff records are."""
    plain, url, schema = pg_schema
    monkeypatch.setenv("POSTGRESQL_SCHEMA", schema)  # read by Rasa's SQLTrackerStore
    store = SQLTrackerStore(Domain.empty(), dialect="postgresql", host=PG_HOST, port=PG_PORT,
                            db=PG_DB, username=sa.engine.make_url(plain).username)
    before = fill(store, url, schema=schema)
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n"
        f"  url: {PG_HOST}\n  port: {PG_PORT}\n  db: {PG_DB}\n"
        f"  username: {sa.engine.make_url(plain).username}\n"
    )
    env = {"ENDPOINTS": str(endpoints), "POSTGRESQL_SCHEMA": schema, "HANDOFF_DB_URL": url}
    result = run_tool("--dry-run", env=env)
    assert result.returncode == 0, result
    assert counts_in(result.stdout) == (2, before["old-1"] + before["old-2"], 2)
    result = run_tool(env=env)
    assert result.returncode == 0, result
    assert events_per_sender(plain, before, schema) == {**before, "old-1": 0, "old-2": 0}
    assert handoff_senders(url) == ["recent"]
    store.engine.dispose()


@pytest.mark.parametrize("store_type", ["SQL", "server.runtime.tracker_store.CachingSQLTrackerStore"])
def test_both_sql_tracker_stores_name_the_database(tmp_path, store_type):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(f'tracker_store:\n  type: {store_type}\n  dialect: "sqlite"\n  db: "x.db"\n')
    assert tracker_store_url(endpoints) == "sqlite:///x.db"


def test_a_tracker_store_without_sql_tables_is_refused(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: redis\n  url: localhost\n")
    with pytest.raises(ValueError, match="SQL tracker store"):
        tracker_store_url(endpoints)
