"""deploy/event_relay.py: every row of Rasa's `events` table reaches RabbitMQ once.

Each test gets its own PostgreSQL schema (an `events` table made from Rasa's own
SQLTrackerStore model, rows written as SQLTrackerStore.save writes them) and its own
RabbitMQ exchange and queue, and drops them afterwards. The relay runs as a subprocess,
as in production, so SIGTERM, SIGKILL, restarts and a second relay taking over are real.
Needs PostgreSQL and RabbitMQ (deploy/check_services.py).
"""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest

from deploy.check_services import connect_rabbitmq, problems, settings

pytestmark = pytest.mark.scale

REPO = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 1.0
APP_ID = "relay-test"


@pytest.fixture(scope="module", autouse=True)
def services():
    missing = problems(services=("postgresql", "rabbitmq"))
    if missing:
        pytest.fail("\n".join(missing))


class Outbox:
    """A schema with Rasa's `events` table, and an exchange and queue, for one test."""

    def __init__(self, workdir: Path):
        import psycopg2
        import sqlalchemy as sa
        from rasa.core.tracker_store import SQLTrackerStore

        run = uuid.uuid4().hex[:10]
        self.schema = f"relay_test_{run}"
        self.exchange = self.queue = f"fanzha-relay-test-{run}"
        self.workdir = workdir
        s = settings()
        self.connect_args = dict(host=s["DB_HOST"], port=int(s["DB_PORT"]),
                                 dbname=s["DB_DATABASE"], user=s["DB_USER"],
                                 password=s["DB_PASSWORD"],
                                 options=f"-csearch_path={self.schema}")
        admin = psycopg2.connect(**{**self.connect_args, "options": None})
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE SCHEMA {self.schema}")
        admin.close()
        engine = sa.create_engine(
            f"postgresql+psycopg2://{s['DB_USER']}:{s['DB_PASSWORD']}@{s['DB_HOST']}:"
            f"{s['DB_PORT']}/{s['DB_DATABASE']}",
            connect_args={"options": f"-csearch_path={self.schema}"})
        SQLTrackerStore.SQLEvent.__table__.create(engine)  # Rasa's own layout
        engine.dispose()
        self.db = self.connect()
        self.db.autocommit = True
        self.env = {**os.environ, **settings(), "POSTGRESQL_SCHEMA": self.schema,
                    "RABBITMQ_EXCHANGE": self.exchange, "RABBITMQ_QUEUE": self.queue,
                    "RELAY_START": "beginning", "RELAY_GAP_GRACE_SECONDS": str(GRACE_SECONDS),
                    "RELAY_POLL_SECONDS": "0.1", "RASA_ENVIRONMENT": APP_ID,
                    "PYTHONUNBUFFERED": "1"}
        self.relays: List[subprocess.Popen] = []
        self.connections = [self.db]
        self.sent: Dict[int, tuple] = {}  # row id -> (sender_id, event dict) committed

    def connect(self):
        import psycopg2

        connection = psycopg2.connect(**self.connect_args)
        self.connections = getattr(self, "connections", []) + [connection]
        return connection

    def insert(self, connection, sender: str, event) -> int:
        """One event as SQLTrackerStore.save stores it; the row id."""
        data = event.as_dict()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO events (sender_id, type_name, timestamp, intent_name, "
                "action_name, data) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (sender, event.type_name, data.get("timestamp"),
                 data.get("parse_data", {}).get("intent", {}).get("name"),
                 data.get("name"), json.dumps(data)))
            return cursor.fetchone()[0]

    def commit(self, connection, pending: Dict[int, tuple]) -> None:
        connection.commit()
        self.sent.update(pending)

    def add(self, sender: str, events) -> List[int]:
        """Events committed one by one."""
        ids = []
        for event in events:
            row = self.insert(self.db, sender, event)
            self.sent[row] = (sender, event)
            ids.append(row)
        return ids

    def start_relay(self, name: str, **env: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "deploy.event_relay"], cwd=REPO,
                                   env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        log.close()
        self.relays.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text()

    def wait_for_log(self, name: str, text: str, seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while text not in self.log(name):
            assert time.monotonic() < deadline, f"{name} never logged {text!r}:\n{self.log(name)}"
            time.sleep(0.05)

    def queued(self) -> int:
        async def count() -> int:
            async with await connect_rabbitmq() as connection:
                channel = await connection.channel()
                queue = await channel.declare_queue(self.queue, passive=True)
                return queue.declaration_result.message_count
        return asyncio.run(count())

    def wait_for_queued(self, at_least: int, seconds: float = 60) -> int:
        deadline = time.monotonic() + seconds
        while True:
            try:
                n = self.queued()
            except Exception:  # noqa: BLE001 - not declared yet
                n = 0
            if n >= at_least or time.monotonic() > deadline:
                return n
            time.sleep(0.05)

    def consume(self, idle: float = 1.0) -> List[dict]:
        """Everything in the queue (taken off it), in order."""
        async def take() -> List[dict]:
            got = []
            async with await connect_rabbitmq() as connection:
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=1000)
                queue = await channel.declare_queue(self.queue, durable=True)
                async with queue.iterator(no_ack=True) as messages:
                    while True:
                        try:
                            message = await asyncio.wait_for(messages.__anext__(), idle)
                        except asyncio.TimeoutError:
                            return got
                        got.append({"message_id": message.message_id, "body": message.body,
                                    "delivery_mode": int(message.delivery_mode),
                                    "app_id": message.app_id, "headers": message.headers})
        return asyncio.run(take())

    def close(self) -> None:
        for process in self.relays:
            if process.poll() is None:
                process.kill()
                process.wait()
        for connection in self.connections:  # an open one would block DROP SCHEMA
            connection.close()
        admin = self.connect()
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {self.schema} CASCADE")
        admin.close()

        async def drop() -> None:
            async with await connect_rabbitmq() as connection:
                channel = await connection.channel()
                await channel.queue_delete(self.queue)
                await channel.exchange_delete(self.exchange)
        asyncio.run(drop())


@pytest.fixture
def outbox(tmp_path):
    box = Outbox(tmp_path)
    yield box
    box.close()


def turn(n: int) -> list:
    """The events of one turn, as Rasa logs them (Chinese text, parse data, floats)."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    t = 1700000000.123456 + n
    parse = {"intent": {"name": "report_scam", "confidence": 0.9871234},
             "entities": [{"entity": "amount", "value": str(n)}],
             "text": f"有人让我转账 {n} 元", "intent_ranking": []}
    return [
        UserUttered(f"有人让我转账 {n} 元", parse["intent"], parse["entities"], parse,
                    timestamp=t, message_id=uuid.uuid4().hex),
        SlotSet("amount", str(n), timestamp=t + 0.1),
        ActionExecuted("utter_warn", policy="RulePolicy", confidence=1.0, timestamp=t + 0.2),
        BotUttered("请不要转账，这是诈骗。", {"buttons": None}, {"utter_action": "utter_warn"},
                   timestamp=t + 0.3),
        ActionExecuted("action_listen", timestamp=t + 0.4),
    ]


def rasa_message(sender: str, event, monkeypatch):
    """What Rasa's PikaEventBroker publishes for this event (SQLTrackerStore's body)."""
    from rasa.core.brokers.pika import PikaEventBroker

    monkeypatch.setenv("RASA_ENVIRONMENT", APP_ID)
    broker = PikaEventBroker("localhost", "u", "p", queues=[APP_ID],
                             event_loop=asyncio.new_event_loop())
    body = {"sender_id": sender}
    body.update(event.as_dict())
    return broker._message(body, None)


def check_stream(box: Outbox, received: List[dict], monkeypatch,
                 duplicates_allowed: int = 0) -> int:
    """Every committed row once (or re-sent whole with its message_id), nothing else, in
    id order within each conversation, each message as Rasa would have sent it."""
    prefix = f"{box.schema}.events:"
    ids = [int(m["message_id"][len(prefix):]) for m in received]
    assert all(m["message_id"].startswith(prefix) for m in received)
    counts = Counter(ids)
    assert set(counts) == set(box.sent), (
        f"missing {sorted(set(box.sent) - set(counts))[:10]}, "
        f"unexpected {sorted(set(counts) - set(box.sent))[:10]}")
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= duplicates_allowed, f"{duplicates} duplicates"
    first: Dict[int, dict] = {}
    for row, message in zip(ids, received):
        if row in first:  # a re-sent one: the very same message
            assert message["body"] == first[row]["body"]
            continue
        first[row] = message
    order: Dict[str, List[int]] = {}
    for row in first:  # first arrivals, in arrival order
        order.setdefault(box.sent[row][0], []).append(row)
    assert all(rows == sorted(rows) for rows in order.values()), "out of order"
    for row, message in first.items():
        sender, event = box.sent[row]
        expected = rasa_message(sender, event, monkeypatch)
        assert message["body"] == expected.body
        assert message["delivery_mode"] == int(expected.delivery_mode) == 2
        assert message["app_id"] == expected.app_id == APP_ID
        assert not message["headers"]
    return duplicates


def test_out_of_order_commits_and_rolled_back_ids(outbox, monkeypatch):
    """Row N+1 committed before row N: nothing of that conversation after N-1 goes out
    until N is there. A rolled-back insert's id is given up after the grace period. SIGTERM
    exits 0, and a relay started again sends nothing twice."""
    for n in range(6):
        outbox.add(f"conv-{n % 3}", turn(n))
    slow = outbox.connect()  # row N, committed last
    slow_pending = {outbox.insert(slow, "conv-0", e): ("conv-0", e) for e in turn(100)}
    held = min(slow_pending)
    after = outbox.add("conv-0", turn(101)) + outbox.add("conv-1", turn(102))  # N+1 ...
    rolled_back = outbox.connect()
    lost = outbox.insert(rolled_back, "conv-2", turn(103)[0])
    rolled_back.rollback()
    rolled_back.close()
    outbox.add("conv-2", turn(104))
    assert held < min(after) and lost > max(after)

    relay = outbox.start_relay("relay")
    outbox.wait_for_log("relay", "relaying")
    time.sleep(3 * GRACE_SECONDS + 1)  # well past the grace period
    before = outbox.consume()
    prefix = f"{outbox.schema}.events:"
    assert sorted(int(m["message_id"][len(prefix):]) for m in before) == \
        sorted(i for i in outbox.sent if i < held), "went past an open transaction's row"

    outbox.commit(slow, slow_pending)
    slow.close()
    outbox.add("conv-1", turn(105))  # while it runs
    outbox.wait_for_queued(len(outbox.sent) - len(before))
    relay.send_signal(signal.SIGTERM)
    assert relay.wait(10) == 0, outbox.log("relay")
    check_stream(outbox, before + outbox.consume(), monkeypatch)
    assert f"skipping ids {lost}" in outbox.log("relay")

    again = outbox.start_relay("again")  # the cursor is kept: nothing is sent again
    outbox.wait_for_log("again", "relaying")
    time.sleep(0.5)
    again.send_signal(signal.SIGTERM)
    assert again.wait(10) == 0, outbox.log("again")
    assert outbox.consume(idle=0.5) == []


def test_a_killed_relay_is_taken_over(outbox, monkeypatch):
    """Two relays: one waits on the advisory lock. SIGKILL the working one mid-way; the
    other takes over and sends the rest. The killed one's last batch (confirmed, cursor
    not yet moved: the relay pauses there for this test) comes twice, with the same
    message_ids; nothing else does."""
    batch = 100
    for n in range(600):
        outbox.add(f"conv-{n % 20}", turn(n))
    first = outbox.start_relay("first", RELAY_BATCH_SIZE=str(batch),
                               RELAY_TEST_PAUSE_AFTER_CONFIRM="1")
    outbox.wait_for_log("first", "took the relay lock")
    second = outbox.start_relay("second", RELAY_BATCH_SIZE=str(batch))
    outbox.wait_for_log("second", "waiting to take over")
    at_kill = outbox.wait_for_queued(800)  # 8 batches confirmed: it pauses before the cursor
    first.kill()
    first.wait()
    assert at_kill < len(outbox.sent), "the relay finished before it was killed"
    for n in range(600, 640):  # new events while the second one takes over
        outbox.add(f"conv-{n % 20}", turn(n))
    outbox.wait_for_log("second", "took the relay lock")
    outbox.wait_for_queued(len(outbox.sent))
    time.sleep(0.5)
    second.send_signal(signal.SIGTERM)
    assert second.wait(10) == 0, outbox.log("second")
    duplicates = check_stream(outbox, outbox.consume(), monkeypatch, duplicates_allowed=batch)
    assert duplicates == batch, "the batch confirmed before the kill was not sent again"


def test_says_what_is_missing(tmp_path):
    env = {**os.environ, **settings(), "RABBITMQ_PORT": "1", "RELAY_NAME": "never"}
    result = subprocess.run([sys.executable, "-m", "deploy.event_relay"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "RabbitMQ（事件总线 / event broker）" in result.stderr
    assert "PostgreSQL" not in result.stderr.splitlines()[0]
