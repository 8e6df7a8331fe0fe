"""Card numbers, ID numbers, passwords and codes typed into the public channels never
reach storage: the real servers (Rasa at LOG_LEVEL=DEBUG, its action server), once with
the SQLite tracker store and once with PostgreSQL plus a RabbitMQ event broker.

Messages with secrets go in through REST and the widget webhook; then every stored event,
every event the broker published, and both servers' log files are searched for the
secrets. The customer is warned in the reply, and the masked kinds are in the stored
message's metadata, where an action could read them.

Besides the hand-written turns, generated ones (issue 15): card and ID numbers made up
and typed in the layouts of tests/privacy_samples.py inside pasted notices and chat
logs, each conversation then asking for a person; no part of them may be in the replies,
the tracker store, the event broker, the logs or the handoff records.
"""

import asyncio
import json
import random
import re
import secrets
import socket
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from core.language import reply_language
from server.guard.turns import MASKED_METADATA_KEY, privacy_warning
from tests.e2e.servers import MODEL, running_assistant
from tests.privacy_samples import LAYOUTS, NOTICES, Sample, sample, surviving_secrets

RUN = secrets.token_hex(4)  # this run's senders, queue and exchange
POSTGRES = {"host": "127.0.0.1", "port": 5432, "dbname": "test", "user": "postgres"}
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/"
QUEUE = EXCHANGE = f"privacy-test-{RUN}"


@dataclass(frozen=True)
class Turn:
    path: str  # the channel's webhook
    sender: str
    message: str
    stored_text: str  # what the tracker store may hold
    masked: List[str]
    metadata: Optional[Dict] = None


TURNS = [
    Turn("/webhooks/rest/webhook", "rest",
         "我的卡号是6222 0212 3456 7894，对方要我报验证码 384756",
         "我的卡号是6222 **** **** 7894，对方要我报验证码 [验证码]",
         ["card_number", "verification_code"]),
    Turn("/webhooks/rest/webhook", "rest-id",
         "自称公安的人报出了我的身份证110101199003071233，还让我说网银密码是Qw8kd72x",
         "自称公安的人报出了我的身份证[身份证号]，还让我说网银密码是[密码]",
         ["id_number", "password"]),
    Turn("/chat/webhook", "widget",
         "【工商银行】您的验证码为591034，请勿泄露。客服让我把这个发给他",
         "【工商银行】您的验证码为[验证码]，请勿泄露。客服让我把这个发给他",
         ["verification_code", "card_number"],
         metadata={"pasted_from": "短信", "note": "卡号 6217 0000 1234 5670"}),
]
# Each as the customer typed it, and the parts masking must remove. A code or a card's
# middle digits count as found only standing alone, not inside a longer run of digits
# such as a timestamp (1764230384756.1 is not a leak of 384756).
SECRETS = [
    "6222021234567894", "6222 0212 3456 7894", "0212 3456", "02123456",
    "384756",
    "110101199003071233", "19900307",
    "Qw8kd72x",
    "591034",
    "6217000012345670", "6217 0000 1234 5670", "0000 1234", "00001234",
]
_LEAK = re.compile(
    "|".join(rf"(?<![0-9]){re.escape(secret)}(?![0-9])" for secret in SECRETS)
)


def leaks(text: str) -> List[str]:
    return _LEAK.findall(text)


def _generated() -> List[Tuple[str, str, Sample]]:
    """(webhook, sender, pasted notice): every notice once, layouts in turn (seeded)."""
    rng = random.Random(15)
    webhooks = ["/webhooks/rest/webhook", "/chat/webhook"]
    return [
        (webhooks[i % 2], f"privacy-{RUN}-generated-{i}",
         sample(rng, notice, LAYOUTS[i % len(LAYOUTS)], LAYOUTS[-1 - i % len(LAYOUTS)]))
        for i, notice in enumerate(NOTICES)
    ]


GENERATED = _generated()
GENERATED_SECRETS = [secret for _, _, pasted in GENERATED for secret in pasted.secrets]
HANDOFF = "转人工"


def survivors(text: str) -> List[str]:
    """The generated secrets (or their middles) readable in `text`."""
    return surviving_secrets(text, GENERATED_SECRETS)


def as_text(events: List[Dict]) -> str:
    return json.dumps(events, ensure_ascii=False)


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def sender_id(turn: Turn) -> str:
    return f"privacy-{RUN}-{turn.sender}"


# --- the stores --------------------------------------------------------------------------


class SqliteStores:
    name = "sqlite"
    endpoints = None  # running_assistant's own SQLite tracker store

    def events(self, assistant, sender: str) -> List[Dict]:
        return assistant.stored_events(sender)

    def published(self) -> Optional[List[Dict]]:
        return None

    def handoffs(self, assistant) -> List[Tuple]:
        with sqlite3.connect(assistant.tracker_db) as db:
            return db.execute("SELECT * FROM handoff_requests").fetchall()

    def clean_up(self) -> None:
        pass


class PostgresAndRabbitMq:
    """Rasa's SQL tracker store on PostgreSQL (table `events`, shared: this run's rows are
    told apart by sender id) and its pika broker on this run's own exchange and queue."""

    name = "postgresql+rabbitmq"
    endpoints = (
        "tracker_store:\n  type: SQL\n  dialect: postgresql\n"
        f"  url: {POSTGRES['host']}\n  port: {POSTGRES['port']}\n"
        f"  db: {POSTGRES['dbname']}\n  username: {POSTGRES['user']}\n"
        "event_broker:\n  type: pika\n  url: 127.0.0.1\n  username: guest\n"
        f"  password: guest\n  queues: [{QUEUE}]\n  exchange_name: {EXCHANGE}\n"
    )

    def __init__(self) -> None:
        if not (reachable(POSTGRES["host"], POSTGRES["port"]) and reachable("127.0.0.1", 5672)):
            pytest.fail("PostgreSQL (127.0.0.1:5432) or RabbitMQ (127.0.0.1:5672) not running: scripts/test_services.sh")
        self._published: List[Dict] = []

    def events(self, assistant, sender: str) -> List[Dict]:
        import psycopg2

        with psycopg2.connect(**POSTGRES) as db, db.cursor() as cursor:
            cursor.execute("SELECT data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
            return [json.loads(data) for (data,) in cursor.fetchall()]

    def handoffs(self, assistant) -> List[Tuple]:
        import psycopg2

        with psycopg2.connect(**POSTGRES) as db, db.cursor() as cursor:
            cursor.execute("SELECT * FROM handoff_requests WHERE conversation_id LIKE %s",
                           (f"privacy-{RUN}-%",))
            return cursor.fetchall()

    def published(self) -> List[Dict]:
        """Everything on this run's queue so far (and kept for later calls)."""
        self._published += asyncio.run(self._drain())
        return self._published

    async def _drain(self) -> List[Dict]:
        import aio_pika

        connection = await aio_pika.connect(RABBITMQ_URL)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(QUEUE, ensure=True)
            bodies = []
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                bodies.append(json.loads(message.body))
            return bodies

    def clean_up(self) -> None:
        import aio_pika
        import psycopg2

        with psycopg2.connect(**POSTGRES) as db, db.cursor() as cursor:
            cursor.execute("DELETE FROM events WHERE sender_id LIKE %s", (f"privacy-{RUN}-%",))
            cursor.execute("DELETE FROM handoff_requests WHERE conversation_id LIKE %s",
                           (f"privacy-{RUN}-%",))

        async def remove_queue_and_exchange():
            async with await aio_pika.connect(RABBITMQ_URL) as connection:
                channel = await connection.channel()
                await channel.queue_delete(QUEUE)
                await channel.exchange_delete(EXCHANGE)

        asyncio.run(remove_queue_and_exchange())


@dataclass
class Run:
    replies: Dict[str, List[Dict]]  # sender -> the bot's messages
    stored: Dict[str, List[Dict]]  # sender -> the tracker store's events
    published: Optional[List[Dict]]  # the broker's events (this run's senders), if any
    logs: Dict[str, str]  # log file -> its text
    handoffs: List[Tuple]  # the handoff records of this run's conversations


def wait_until_published(stores, messages: Dict[str, int], seconds: float = 30) -> Optional[List]:
    """The broker's events for the senders of `messages`, once each sender's messages
    (that many) are there."""
    deadline = time.monotonic() + seconds
    while True:
        published = stores.published()
        if published is None:
            return None
        ours = [event for event in published if event.get("sender_id") in messages]
        arrived: Dict[str, int] = {}
        for event in ours:
            if event.get("event") == "user":
                arrived[event["sender_id"]] = arrived.get(event["sender_id"], 0) + 1
        if arrived == messages or time.monotonic() > deadline:
            return ours
        time.sleep(0.5)


@pytest.fixture(scope="module", params=[
    pytest.param(SqliteStores, id="sqlite"),
    pytest.param(PostgresAndRabbitMq, id="postgresql+rabbitmq", marks=pytest.mark.scale)])
def run(request, tmp_path_factory) -> Run:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    stores = request.param()
    workdir: Path = tmp_path_factory.mktemp(f"privacy-{stores.name}")
    # DEBUG: Rasa then logs every message it receives; none may hold a secret.
    env = {"LOG_LEVEL": "DEBUG", "PYTHONUNBUFFERED": "1"}
    try:
        with running_assistant(workdir, env, stores=stores.endpoints) as assistant:
            replies = {}
            for turn in TURNS:
                body = {"sender": sender_id(turn), "message": turn.message}
                if turn.metadata:
                    body["metadata"] = turn.metadata
                status, messages = post(assistant.rasa_url + turn.path, body)
                assert status == 200, (status, messages)
                replies[sender_id(turn)] = messages
            for path, sender, pasted in GENERATED:
                replies[sender] = []
                for text in (pasted.text, HANDOFF):
                    status, messages = post(assistant.rasa_url + path,
                                            {"sender": sender, "message": text})
                    assert status == 200, (status, messages)
                    replies[sender] += messages
            expected = {**{sender_id(turn): 1 for turn in TURNS},
                        **{sender: 2 for _, sender, _ in GENERATED}}
            published = wait_until_published(stores, expected)
            stored = {sender: stores.events(assistant, sender) for sender in expected}
            handoffs = stores.handoffs(assistant)
        # After the servers stopped: their logs are complete and flushed.
        logs = {name: (workdir / name).read_text(encoding="utf-8", errors="replace")
                for name in ("rasa.log", "actions.log")}
        yield Run(replies, stored, published, logs, handoffs)
    finally:
        stores.clean_up()


def post(url: str, body: Dict) -> Tuple[int, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json"}, method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


# --- what each store shows ----------------------------------------------------------------


@pytest.mark.parametrize("turn", TURNS, ids=[t.sender for t in TURNS])
def test_the_customer_gets_an_answer_and_the_warning(run, turn):
    messages = run.replies[sender_id(turn)]
    assert messages[-1]["text"] == privacy_warning()
    assert any(m.get("text") or m.get("custom") for m in messages[:-1])  # answered too
    assert leaks(as_text(messages)) == []


@pytest.mark.parametrize("turn", TURNS, ids=[t.sender for t in TURNS])
def test_the_tracker_store_holds_only_the_masked_message(run, turn):
    events = run.stored[sender_id(turn)]
    user_events = [e for e in events if e["event"] == "user"]
    assert [e["text"] for e in user_events] == [turn.stored_text]
    assert user_events[0]["metadata"][MASKED_METADATA_KEY] == turn.masked
    assert any(e["event"] == "bot" for e in events)
    assert leaks(as_text(events)) == []


def test_the_event_broker_published_the_conversations_without_a_secret(run):
    if run.published is None:
        pytest.skip("no event broker with the SQLite tracker store")
    user_texts = {e["sender_id"]: e["text"] for e in run.published
                  if e.get("event") == "user" and e["sender_id"] in map(sender_id, TURNS)}
    assert user_texts == {sender_id(turn): turn.stored_text for turn in TURNS}
    assert leaks(as_text(run.published)) == []


@pytest.mark.parametrize("log", ["rasa.log", "actions.log"])
def test_the_server_logs_hold_no_secret(run, log):
    text = run.logs[log]
    assert text.strip()
    assert leaks(text) == []


def test_rasa_logged_the_messages_masked(run):
    # At DEBUG Rasa logs each parsed message: the search above did look at them.
    assert "6222 **** **** 7894" in run.logs["rasa.log"]


# --- generated card and ID numbers in pasted notices (issue 15) --------------------------


def test_the_generated_notices_hold_secrets_of_both_kinds():
    assert {kind for kind, _ in GENERATED_SECRETS} == {"card", "id"}
    assert len(GENERATED) == len(NOTICES) >= 12


@pytest.mark.parametrize("path, sender, pasted", GENERATED, ids=[g[1].rsplit("-", 1)[1] for g in GENERATED])
def test_a_generated_notice_is_answered_masked_and_its_conversation_handed_off(run, path, sender, pasted):
    messages = run.replies[sender]
    # In the notice's own language, as every reply (an English notice: English).
    assert privacy_warning(reply_language(pasted.text)) in [m.get("text") for m in messages]
    assert any(m.get("custom", {}).get("type") == "handoff" and m["custom"]["reference"]
               for m in messages)
    assert survivors(as_text(messages)) == []
    events = run.stored[sender]
    user_texts = [e["text"] for e in events if e["event"] == "user"]
    assert len(user_texts) == 2 and user_texts[1] == HANDOFF
    assert all(number in user_texts[0] for number in pasted.kept)  # the rest is as typed
    assert survivors(as_text(events)) == []


def test_no_generated_secret_reached_the_event_broker(run):
    if run.published is None:
        pytest.skip("no event broker with the SQLite tracker store")
    generated = {sender for _, sender, _ in GENERATED}
    assert generated <= {e["sender_id"] for e in run.published if e.get("event") == "user"}
    assert survivors(as_text(run.published)) == []


@pytest.mark.parametrize("log", ["rasa.log", "actions.log"])
def test_no_generated_secret_reached_the_logs(run, log):
    assert survivors(run.logs[log]) == []


def test_no_generated_secret_reached_the_handoff_records(run):
    ours = [row for row in run.handoffs if any(sender in map(str, row) for _, sender, _ in GENERATED)]
    assert len(ours) >= len(GENERATED)
    assert survivors(json.dumps(run.handoffs, default=str, ensure_ascii=False)) == []
