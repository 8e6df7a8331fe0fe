"""The scale-out profile under load, while replicas are restarted and killed.

One action server and two Rasa replicas run with endpoints.scale.yml (PostgreSQL tracker
store, Redis lock store, RabbitMQ event broker). 50 conversations of 10 turns run at
once, every turn sent to a randomly chosen replica, so consecutive turns of a
conversation land on different replicas. Meanwhile replica 0 gets SIGTERM (what
Kubernetes sends on a rolling update) and is started again, and then replica 1 gets
SIGKILL (a crash, an OOM kill, a lost node), both with turns in flight.

A turn on its way to a replica that goes down can fail at the HTTP level. A load balancer
would send it to another replica, but a POST is not safe to repeat blindly (nginx does
not retry one unless told to): the replica may have stored the turn before it went. So
the client here does what the gateway or client in front of the assistant must do: it
looks the conversation up in the tracker store and resends only a turn that is not there.

Each run uses its own RabbitMQ exchange and queue, Redis key prefix and sender-id prefix
and removes them, and its rows, afterwards: runs, and other users of the shared services,
do not see each other. Needs PostgreSQL, Redis and RabbitMQ (deploy/check_services.py).
The fixture prints what happened and the times.
"""

import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import aiohttp
import pytest

from deploy.check_services import (
    connect_postgres, connect_rabbitmq, connect_redis, problems, settings,
)
from tests.e2e.servers import MODEL, RASA, RASA_SERVER, REPO, _spawn, _wait_until_up, free_port, stop

pytestmark = pytest.mark.scale

CONVERSATIONS = 50
TURNS = 10
# Replica 0 gets SIGTERM (what Kubernetes sends on a rolling update) after 25% of the
# turns and is started again. Replica 1 gets SIGKILL (a crash, an OOM kill) under load:
# after 60% of the turns and at least 10% more after replica 0 is back. Should replica 0
# take longer than that to come back, the conversations wait for it at 60%, so that turns
# remain for it.
RESTART_AT_FRACTION = 0.25
KILL_AT_FRACTION = 0.6
KILL_AFTER_RESTART_FRACTION = 0.1
REPLICAS = 2
ENDPOINTS = REPO / "endpoints.scale.yml"
# A dead replica's lock tickets block its conversations until they expire (Rasa's
# default: 60 s). 20 s keeps the test short and is still far above the slowest turn here.
TICKET_LOCK_LIFETIME_SECONDS = 20
# After a replica exits, give PostgreSQL a moment to finish (or roll back) what the dead
# replica's connections had already sent before the client reads the tracker.
SETTLE_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 120
BROKER_IDLE_SECONDS = 5.0

# How customers write: a first message about what happened, then questions.
OPENERS = [
    "税务局打电话说我有一笔退税，让我去ATM上操作",
    "有个自称公安局的人说我涉嫌洗钱，要我把钱转到安全账户",
    "社保局来电话说我的社保卡异常，马上要冻结",
    "快递客服说我的包裹丢了要给我理赔，让我开屏幕共享",
    "网上认识的老师带我炒股，说内部消息稳赚不赔",
    "有人拉我做刷单，说先垫付再返佣金",
    "贷款平台说我要先交一笔保证金才能放款",
    "收到短信说我中了大奖，领奖要先交手续费",
    "微信上领导让我先帮他转一笔钱给客户",
    "有人打电话说我的征信有问题，要注销校园贷账户",
    "游戏里有人说高价收我的账号，让我去他说的平台交易",
    "网上认识的男朋友说带我投资，让我往平台里充钱",
]
VAGUE_START = [  # the clarifying form: three questions, then the assessment
    "刚才接了个奇怪的电话，我有点怕",
    "他说他是派出所的",
    "让我把钱转到安全账户",
    "还没有",
]
HANDOFF = "转人工"
FOLLOW_UPS = [
    "那我该怎么办",
    "我怎么核实",
    "为什么说是诈骗",
    "12366是真的吗",
    "有没有真实案例",
    "帮我写段话发给家里人提个醒",
    "95588打来的电话是真的吗",
    "110是报警电话吧",
    "这个链接能点吗 http://chinatax-gov.cn.example.com/tui",
    "谢谢你",
    "好的，我知道了",
    "我还是有点担心",
    HANDOFF,
]


def conversation_script(rng: random.Random) -> List[str]:
    """Ten distinct turns: a scam description (or a vague story), then follow-ups."""
    start = list(VAGUE_START) if rng.random() < 0.2 else [rng.choice(OPENERS)]
    return start + rng.sample(FOLLOW_UPS, TURNS - len(start))


def stored_events(db, sender: str) -> List[Dict]:
    """The conversation as Rasa's `events` table holds it, oldest first."""
    with db.cursor() as cursor:
        cursor.execute("SELECT data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        return [json.loads(data) for (data,) in cursor.fetchall()]


def user_texts(db, sender: str) -> List[str]:
    return [e["text"] for e in stored_events(db, sender) if e["event"] == "user"]


def wait_for_log(log: Path, text: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{log.name} exited:\n{log.read_text()[-2000:]}")
        if log.exists() and text in log.read_text():
            return
        time.sleep(0.2)
    raise TimeoutError(f"no {text!r} in {log} after {seconds} s")


def event_key(event: Dict) -> str:
    """An event as stored and as streamed, compared whole (without what the stream adds:
    sender_id, and the app_id noted by consume)."""
    return json.dumps({k: v for k, v in event.items()
                       if k not in ("sender_id", "app_id", "message_id")},
                      sort_keys=True)


def turn_of_each_event(events: List[Dict]) -> List[int]:
    """For each stored event, the turn it belongs to: a user event and what followed it;
    the session start before the first user event is part of the first turn."""
    turn, turns = 0, []
    seen_user = False
    for event in events:
        if event["event"] == "user":
            turn += seen_user
            seen_user = True
        turns.append(turn)
    return turns


@dataclass
class Replica:
    name: str  # also its RabbitMQ app_id (RASA_ENVIRONMENT), to tell who published what
    url: str
    process: subprocess.Popen
    alive: bool = True
    in_flight: int = 0
    stopped: Optional[asyncio.Event] = None  # set once stopped and settled


class Profile:
    """The action server and Rasa replicas of endpoints.scale.yml, on free ports."""

    def __init__(self, workdir: Path, run_id: str):
        self.workdir = workdir
        self.queue = self.exchange = f"fanzha-scale-{run_id}"
        self.key_prefix = run_id  # Redis wants letters and digits only
        self.action_port = free_port()
        self.actions_url = f"http://127.0.0.1:{self.action_port}"
        self.env = {
            **settings(),
            "RABBITMQ_EXCHANGE": self.exchange,
            "RABBITMQ_QUEUE": self.queue,
            "REDIS_KEY_PREFIX": self.key_prefix,
            "ACTION_SERVER_URL": f"{self.actions_url}/webhook",
            "ACTION_SERVER_SECRET": secrets.token_urlsafe(32),
            "ENDPOINTS": str(ENDPOINTS),  # the action server's handoff records
            "RASA_TELEMETRY_ENABLED": "false",
            "TICKET_LOCK_LIFETIME": str(TICKET_LOCK_LIFETIME_SECONDS),
            # One test client sends far faster than any customer, from one address.
            "RATE_LIMIT_PER_SENDER": "off",
            "RATE_LIMIT_PER_IP": "off",
            # So a reply means the turn is stored. (With the default 10 s, a turn waiting
            # for a dead replica's lock gets the general safe advice first and is stored
            # when the lock frees: server/guard/turns.py.)
            "ASSISTANT_REPLY_TIMEOUT": str(REQUEST_TIMEOUT_SECONDS),
            # A SIGKILLed replica's rolled-back insert leaves a permanent id gap; the relay
            # waits this long before passing it (well under BROKER_IDLE_SECONDS).
            "RELAY_GAP_GRACE_SECONDS": "2",
        }
        self.relay: Optional[subprocess.Popen] = None
        self.actions: Optional[subprocess.Popen] = None
        self.replicas: List[Replica] = []  # every one started, stopped ones included

    def start_replica(self, name: str) -> Replica:
        port = free_port()
        process = _spawn(
            [*RASA_SERVER, "run", "--model", str(MODEL), "--port", str(port),
             "--endpoints", str(ENDPOINTS), "--credentials", "credentials.yml"],
            self.workdir / f"{name}.log", {**self.env, "RASA_ENVIRONMENT": name},
        )
        replica = Replica(name, f"http://127.0.0.1:{port}", process, alive=False)
        self.replicas.append(replica)
        return replica

    def wait_until_up(self, replica: Replica) -> None:
        _wait_until_up(f"{replica.url}/webhooks/rest/", replica.process,
                       self.workdir / f"{replica.name}.log")
        replica.alive = True

    def start(self) -> None:
        # The relay first, so its cursor exists before the replicas' first event.
        self.relay = _spawn([sys.executable, "-m", "deploy.event_relay"],
                            self.workdir / "relay.log", self.env)
        wait_for_log(self.workdir / "relay.log", "relaying", self.relay)
        self.actions = _spawn(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(self.action_port)],
            self.workdir / "actions.log", self.env,
        )
        started = [self.start_replica(f"replica-{index}") for index in range(REPLICAS)]
        _wait_until_up(f"{self.actions_url}/health", self.actions, self.workdir / "actions.log")
        for replica in started:
            self.wait_until_up(replica)

    def stop(self) -> None:
        for replica in self.replicas:
            stop(replica.process)
        if self.actions:
            stop(self.actions)
        if self.relay:  # last: it sends what the replicas stored while stopping
            stop(self.relay)


@dataclass
class Outcome:
    """What one run did and what the stores and the stream hold afterwards."""

    scripts: Dict[str, List[str]]
    seed: int
    killed: str = ""
    events_log: List[str] = field(default_factory=list)
    answered_by: Dict[Tuple[str, int], str] = field(default_factory=dict)
    # (replica, sender, turn) of turns that failed at the HTTP level as a replica went down
    stored_by_stopped: List[Tuple[str, str, int]] = field(default_factory=list)
    resent: List[Tuple[str, str, int]] = field(default_factory=list)
    stored: Dict[str, List[Dict]] = field(default_factory=dict)
    streamed: List[Dict] = field(default_factory=list)
    handoff_recorded: set = field(default_factory=set)
    seconds: Dict[str, float] = field(default_factory=dict)


class Load:
    """All conversations at once over the replicas, while replica 0 is restarted
    (SIGTERM, started again) and then replica 1 killed (SIGKILL)."""

    def __init__(self, profile: Profile, outcome: Outcome):
        self.profile = profile
        self.outcome = outcome
        self.scripts = outcome.scripts
        self.rng = random.Random(outcome.seed)
        self.total = sum(len(turns) for turns in self.scripts.values())
        self.answered = 0
        self.restarted = asyncio.Event()
        self.db = connect_postgres()

    def log(self, what: str) -> None:
        self.outcome.events_log.append(f"after {self.answered}/{self.total} turns: {what}")

    async def reached(self, fraction: float) -> None:
        while self.answered < fraction * self.total:
            await asyncio.sleep(0.1)

    async def stop_replica(self, replica: Replica, signal_name: str) -> None:
        replica.stopped = asyncio.Event()
        self.log(f"{signal_name} to {replica.name} with {replica.in_flight} turns in flight")
        os.killpg(replica.process.pid, getattr(signal, signal_name))
        await asyncio.to_thread(replica.process.wait)
        replica.alive = False
        await asyncio.sleep(SETTLE_SECONDS)
        replica.stopped.set()

    async def chaos(self) -> None:
        first, second = self.profile.replicas
        await self.reached(RESTART_AT_FRACTION)
        await self.stop_replica(first, "SIGTERM")
        again = self.profile.start_replica(f"{first.name}-restarted")
        await asyncio.to_thread(self.profile.wait_until_up, again)
        self.log(f"{again.name} up")
        self.restarted.set()
        await self.reached(
            max(KILL_AT_FRACTION, self.answered / self.total + KILL_AFTER_RESTART_FRACTION))
        self.outcome.killed = second.name
        await self.stop_replica(second, "SIGKILL")

    async def turn(self, session: aiohttp.ClientSession, sender: str, index: int) -> None:
        if self.answered >= KILL_AT_FRACTION * self.total:
            await self.restarted.wait()
        text = self.scripts[sender][index]
        while True:
            replica = self.rng.choice([r for r in self.profile.replicas if r.alive])
            replica.in_flight += 1
            try:
                async with session.post(f"{replica.url}/webhooks/rest/webhook",
                                        json={"sender": sender, "message": text}) as reply:
                    body = await reply.text()
                assert reply.status == 200, (sender, text, reply.status, body)
                assert json.loads(body), f"no reply to {text!r} in {sender}"
                self.outcome.answered_by[sender, index] = replica.name
                break
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError):
                if replica.stopped is None:
                    raise
                # It went down under this turn (or refused it). Stored? Ask the tracker.
                await replica.stopped.wait()
                stored = await asyncio.to_thread(user_texts, self.db, sender)
                if stored == self.scripts[sender][: index + 1]:
                    self.outcome.stored_by_stopped.append((replica.name, sender, index))
                    self.outcome.answered_by[sender, index] = replica.name
                    break
                assert stored == self.scripts[sender][:index], (sender, stored)
                self.outcome.resent.append((replica.name, sender, index))
            finally:
                replica.in_flight -= 1
        self.answered += 1

    async def conversation(self, session: aiohttp.ClientSession, sender: str) -> None:
        for index in range(len(self.scripts[sender])):
            await self.turn(session, sender, index)

    async def run(self) -> None:
        chaos = asyncio.create_task(self.chaos())
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS),
            connector=aiohttp.TCPConnector(limit=0),
        ) as session:
            await asyncio.gather(*(self.conversation(session, s) for s in self.scripts))
        assert chaos.done(), "the conversations ended before replica 1 was killed"
        await chaos


async def consume(queue_name: str, prefix: str, expected: int) -> List[Dict]:
    """This run's events from its queue, each with the app_id of the replica that
    published it: until all expected ones are in and the queue is idle for a second, or
    it stays idle longer (events that never come)."""
    events: List[Dict] = []
    async with await connect_rabbitmq() as connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=500)
        queue = await channel.declare_queue(queue_name, durable=True)  # as Rasa declares it
        async with queue.iterator(no_ack=True) as messages:
            while True:
                idle = 1.0 if len(events) >= expected else BROKER_IDLE_SECONDS
                try:
                    message = await asyncio.wait_for(messages.__anext__(), idle)
                except asyncio.TimeoutError:
                    return events
                event = json.loads(message.body)
                if str(event.get("sender_id", "")).startswith(prefix):
                    events.append({**event, "app_id": message.app_id,
                                   "message_id": message.message_id})


def cleanup(profile: Profile, prefix: str) -> None:
    async def delete_queue_and_exchange() -> None:  # both durable: they would stay
        async with await connect_rabbitmq() as connection:
            channel = await connection.channel()
            await channel.queue_delete(profile.queue)
            await channel.exchange_delete(profile.exchange)

    asyncio.run(delete_queue_and_exchange())
    db = connect_postgres()
    with db.cursor() as cursor:
        cursor.execute("DELETE FROM events WHERE sender_id LIKE %s", (prefix + "%",))
        cursor.execute("SELECT to_regclass('event_relay_cursor')")
        if cursor.fetchone()[0]:
            cursor.execute("DELETE FROM event_relay_cursor WHERE name = %s", (profile.exchange,))
        cursor.execute("SELECT to_regclass('handoff_requests')")
        if cursor.fetchone()[0]:
            cursor.execute("DELETE FROM handoff_requests WHERE conversation_id LIKE %s",
                           (prefix + "%",))
    db.close()
    locks = connect_redis()
    for key in locks.scan_iter(f"{profile.key_prefix}:*"):
        locks.delete(key)


def run_profile(workdir: Path) -> Outcome:
    started = time.monotonic()
    run_id = "s" + uuid.uuid4().hex[:12]
    prefix = f"scale-{run_id}-"
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    outcome = Outcome({
        f"{prefix}{n:02d}": conversation_script(rng) for n in range(CONVERSATIONS)}, seed)
    profile = Profile(workdir, run_id)
    try:
        profile.start()
        up = time.monotonic()
        load = Load(profile, outcome)
        asyncio.run(load.run())
        talked = time.monotonic()
        outcome.stored = {s: stored_events(load.db, s) for s in outcome.scripts}
        expected = sum(len(events) for events in outcome.stored.values())
        outcome.streamed = asyncio.run(consume(profile.queue, prefix, expected))
        with load.db.cursor() as cursor:
            cursor.execute("SELECT DISTINCT conversation_id FROM handoff_requests "
                           "WHERE conversation_id LIKE %s", (prefix + "%",))
            outcome.handoff_recorded = {row[0] for row in cursor.fetchall()}
        load.db.close()
        outcome.seconds = {"start-up": up - started, "conversations": talked - up,
                           "collecting": time.monotonic() - talked}
    finally:
        profile.stop()
        cleanup(profile, prefix)
    outcome.seconds["total"] = time.monotonic() - started
    return outcome


def lost_from_stream(outcome: Outcome) -> Dict[str, List[Tuple[str, int]]]:
    """Stored events that never reached the stream, as (sender, turn), by the replica
    that answered the turn."""
    arrived = Counter((e["sender_id"], event_key(e)) for e in outcome.streamed)
    lost: Dict[str, List[Tuple[str, int]]] = {}
    for sender, events in outcome.stored.items():
        for event, turn in zip(events, turn_of_each_event(events)):
            if not arrived[sender, event_key(event)]:
                lost.setdefault(outcome.answered_by[sender, turn], []).append((sender, turn))
    return lost


def describe(outcome: Outcome) -> str:
    turns = sum(len(t) for t in outcome.scripts.values())
    lost = lost_from_stream(outcome)
    lost_turns = {name: len(set(where)) for name, where in lost.items()}
    served = Counter(outcome.answered_by.values())
    seconds = ", ".join(f"{k} {v:.0f} s" for k, v in outcome.seconds.items())
    return "\n  ".join([
        f"scale-out: {CONVERSATIONS} conversations x {TURNS} turns, seed {outcome.seed}",
        *outcome.events_log,
        f"turns answered: {dict(served)}",
        "turns that failed as their replica went down: stored all the same (not resent) "
        f"{dict(Counter(r for r, _, _ in outcome.stored_by_stopped))}, not stored (resent) "
        f"{dict(Counter(r for r, _, _ in outcome.resent))}",
        f"events stored {sum(len(e) for e in outcome.stored.values())}, streamed "
        f"{len(outcome.streamed)}, never streamed: "
        f"{sum(len(w) for w in lost.values())} of {lost_turns or 0} turns",
        f"{seconds}; {turns / outcome.seconds['conversations']:.1f} turns/s",
    ])


@pytest.fixture(scope="module")
def outcome(request, tmp_path_factory) -> Outcome:
    missing = problems()
    if missing:
        pytest.fail("\n".join(missing))
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    result = run_profile(tmp_path_factory.mktemp("scale"))
    # The figures belong in the test output, not only in a failure report.
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n" + describe(result))
    return result


def test_every_turn_is_stored_once_in_order(outcome):
    """Whichever replica took each turn, and whatever happened to that replica."""
    said = {s: [e["text"] for e in events if e["event"] == "user"]
            for s, events in outcome.stored.items()}
    wrong = {s: texts for s, texts in said.items() if texts != outcome.scripts[s]}
    assert not wrong, f"trackers differ from what was said (seed {outcome.seed}): {wrong}"


def test_every_replica_took_turns(outcome):
    """The scenario happened: turns before and after the restart, and on the killed one."""
    served = Counter(outcome.answered_by.values())
    assert set(served) == {"replica-0", "replica-1", "replica-0-restarted"}, served


def test_stream_holds_no_event_twice_and_none_the_store_lacks(outcome):
    """No turn was processed twice (a blind retry would do that), nothing is invented."""
    stored = Counter((s, event_key(e)) for s, events in outcome.stored.items() for e in events)
    streamed = Counter((e["sender_id"], event_key(e)) for e in outcome.streamed)
    assert max(streamed.values()) == 1, [k for k, n in streamed.items() if n > 1][:5]
    assert not streamed - stored, list(streamed - stored)[:5]


def test_stream_has_every_stored_event_of_every_replica(outcome):
    """The SIGKILLed replica's events too: deploy/event_relay.py publishes from the
    events table with publisher confirms, not from a replica's memory."""
    lost = lost_from_stream(outcome)
    assert not lost, {name: where[:5] for name, where in lost.items()}
    message_ids = Counter(e["message_id"] for e in outcome.streamed)
    assert max(message_ids.values()) == 1


def test_the_action_server_writes_handoffs_to_the_same_postgresql(outcome):
    asked = {s for s, turns in outcome.scripts.items() if HANDOFF in turns}
    assert asked <= outcome.handoff_recorded, asked - outcome.handoff_recorded
