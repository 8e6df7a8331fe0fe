"""Outbox relay: every event in Rasa's PostgreSQL `events` table to RabbitMQ, none lost.

Rasa publishes events from in-memory background tasks after it stored the turn, so a
replica killed with SIGKILL (an OOM kill, a lost node) loses its unpublished backlog
although PostgreSQL has every event (docs/deployment.md: the scale-out profile). This relay makes the
`events` table the outbox: it reads the rows in id order after a cursor, publishes each
to the RabbitMQ exchange exactly as Rasa's PikaEventBroker would, waits for RabbitMQ's
publisher confirms and only then moves its cursor on.

    .venv/bin/python -m deploy.event_relay      # SIGTERM/Ctrl-C: finish the batch, exit 0

Configuration: the variables endpoints.scale.yml reads (DB_HOST, DB_PORT, DB_DATABASE,
DB_USER, DB_PASSWORD, optional POSTGRESQL_SCHEMA as Rasa reads it; RABBITMQ_HOST,
RABBITMQ_PORT, RABBITMQ_USERNAME, RABBITMQ_PASSWORD, RABBITMQ_EXCHANGE, RABBITMQ_QUEUE
(several: comma-separated); RASA_ENVIRONMENT becomes the messages' app_id as with Rasa),
with scripts/run_scaled.sh's loopback defaults, and:

    RELAY_NAME                 the cursor's name (default: the exchange's name)
    RELAY_START                where a relay without a cursor starts: `end` (default: the
                               newest event, nothing older is sent) or `beginning`
    RELAY_BATCH_SIZE           rows per batch (default 500)
    RELAY_POLL_SECONDS         pause when there is nothing new (default 0.15)
    RELAY_GAP_GRACE_SECONDS    how long a gap in the ids is waited for (default 5)

The message. Body: the stored event (`data`) with `sender_id` first, serialised as Rasa
serialises it: `json.dumps({"sender_id": sender_id, **event.as_dict()})`, byte for byte
what PikaEventBroker sends (the stored `data` is `json.dumps(event.as_dict())`, and a JSON
round trip keeps keys, their order and every float). Properties as Rasa's: delivery_mode
persistent, app_id = RASA_ENVIRONMENT, no headers; and message_id = "events:<row id>"
("<schema>.events:<row id>" with POSTGRESQL_SCHEMA), for consumers to de-duplicate on.
The exchange and queues are declared as Rasa declares them (fanout exchange, durable
queues bound to it), so the relay and Rasa can share them.

The guarantee. Every row committed to `events` reaches the exchange (is confirmed by
RabbitMQ: written to the durable queues bound to it), in id order within each
conversation (sender_id). Exactly once, except when the relay itself dies (SIGKILL, a
lost connection, a crash) after RabbitMQ confirmed a batch and before the cursor update
committed: the next relay sends that batch (at most RELAY_BATCH_SIZE rows) again, with
the same message_ids. So: at least once, duplicates only from a relay killed in that
window, and each duplicate recognisable by message_id. SIGTERM never causes duplicates.
A consumer that must not see a duplicate keeps the highest row id per sender_id it has
processed (ids rise within a conversation), or the recent message_ids.

One relay at a time. Each relay takes a PostgreSQL advisory lock (per database, schema,
table and relay name) on the session it works with; a second one waits and takes over
when the first dies (its session ends, PostgreSQL releases the lock). The cursor update
is also compare-and-set, so a relay that lost its lock without noticing cannot move the
cursor backwards or forwards over another's.

Gaps. An id is taken when a row is inserted, but transactions commit in any order: row
N+1 can be visible while row N is still being written. The relay never moves past a
missing id until the row appears, or until the gap is RELAY_GAP_GRACE_SECONDS old AND
every transaction that was writing to `events` when the gap was first seen has ended
(pg_locks: the row-exclusive locks on the table). A missing row's transaction takes that
lock before it takes its id, so after that the id can never appear: it was rolled back
(sequences keep such gaps for ever). A writer that stays open longer than the grace period
holds the relay back until it ends (logged); nothing is skipped on time alone.
"""

import asyncio
import hashlib
import json
import logging
import os
import signal
import sys
import time
from typing import Dict, List, Optional, Sequence, Set, Tuple

from deploy.check_services import TIMEOUT_SECONDS, problems, report_missing, settings

logger = logging.getLogger("event_relay")

TABLE = "events"
CURSOR_TABLE = "event_relay_cursor"
RETRY_SECONDS = 2.0
LOCK_RETRY_SECONDS = 1.0
STALLED_WARNING_SECONDS = 30.0

Row = Tuple[int, str, str]  # id, sender_id, data


class Config:
    def __init__(self, env=None):
        s = settings(env)
        self.env = s
        self.schema = s.get("POSTGRESQL_SCHEMA") or ""
        self.exchange = s["RABBITMQ_EXCHANGE"]
        self.queues = [q.strip() for q in s["RABBITMQ_QUEUE"].split(",") if q.strip()]
        self.name = s.get("RELAY_NAME") or self.exchange
        self.start = (s.get("RELAY_START") or "end").lower()
        if self.start not in ("end", "beginning"):
            raise ValueError(f"RELAY_START must be `end` or `beginning`, not {self.start!r}")
        self.batch_size = int(s.get("RELAY_BATCH_SIZE") or 500)
        self.poll_seconds = float(s.get("RELAY_POLL_SECONDS") or 0.15)
        self.gap_grace_seconds = float(s.get("RELAY_GAP_GRACE_SECONDS") or 5)
        self.app_id = s.get("RASA_ENVIRONMENT") or None
        # For tests only: widens the window between confirms and cursor commit.
        self.pause_after_confirm = float(s.get("RELAY_TEST_PAUSE_AFTER_CONFIRM") or 0)
        qualified = f"{self.schema}.{TABLE}" if self.schema else TABLE
        self.message_id_prefix = qualified
        digest = hashlib.sha256(f"event_relay:{qualified}:{self.name}".encode()).digest()
        self.lock_key = int.from_bytes(digest[:8], "big", signed=True)


def rasa_body(sender_id: str, data: str) -> bytes:
    """The message body Rasa's PikaEventBroker sends for this stored event."""
    body = {"sender_id": sender_id}
    body.update(json.loads(data))
    return json.dumps(body).encode("utf-8")


def connect_postgres(config: Config):
    import psycopg2

    s = config.env
    options = f"-csearch_path={config.schema}" if config.schema else None
    connection = psycopg2.connect(
        host=s["DB_HOST"], port=int(s["DB_PORT"]), dbname=s["DB_DATABASE"],
        user=s["DB_USER"], password=s["DB_PASSWORD"], connect_timeout=TIMEOUT_SECONDS,
        options=options, application_name=f"event_relay:{config.name}",
    )
    connection.autocommit = True
    return connection


class Gap:
    """The first missing id after the cursor: when it was seen, and who was writing."""

    def __init__(self, first_missing: int, writers: Set[str]):
        self.first_missing = first_missing
        self.seen = time.monotonic()
        self.writers = writers
        self.warned = self.seen


class Relay:
    def __init__(self, config: Config):
        self.config = config
        self.stopping = asyncio.Event()
        self.db = None
        self.cursor_id: Optional[int] = None
        self.gap: Optional[Gap] = None
        self.published = 0

    # PostgreSQL ------------------------------------------------------------------------

    def _query(self, sql: str, args: Sequence = ()) -> List[tuple]:
        with self.db.cursor() as cursor:
            cursor.execute(sql, args)
            return cursor.fetchall() if cursor.description else []

    def _table_exists(self) -> bool:
        return self._query("SELECT to_regclass(%s)", (TABLE,))[0][0] is not None

    def _writers(self) -> Set[str]:
        """The transactions now holding a write lock on the events table."""
        rows = self._query(
            "SELECT virtualtransaction FROM pg_locks WHERE locktype = 'relation' "
            "AND relation = to_regclass(%s) AND mode = 'RowExclusiveLock' AND granted "
            "AND pid IS DISTINCT FROM pg_backend_pid()", (TABLE,))
        return {row[0] for row in rows}

    def _load_cursor(self) -> int:
        self._query(f"CREATE TABLE IF NOT EXISTS {CURSOR_TABLE} ("
                    "name text PRIMARY KEY, last_id bigint NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now())")
        rows = self._query(f"SELECT last_id FROM {CURSOR_TABLE} WHERE name = %s",
                           (self.config.name,))
        if rows:
            return rows[0][0]
        start = 0
        if self.config.start == "end":
            start = self._query(f"SELECT coalesce(max(id), 0) FROM {TABLE}")[0][0]
        self._query(f"INSERT INTO {CURSOR_TABLE} (name, last_id) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO NOTHING", (self.config.name, start))
        logger.info("新游标 / new cursor %r starts after event id %s (RELAY_START=%s)",
                    self.config.name, start, self.config.start)
        return self._query(f"SELECT last_id FROM {CURSOR_TABLE} WHERE name = %s",
                           (self.config.name,))[0][0]

    def _save_cursor(self, new_id: int) -> None:
        with self.db.cursor() as cursor:
            cursor.execute(f"UPDATE {CURSOR_TABLE} SET last_id = %s, updated_at = now() "
                           "WHERE name = %s AND last_id = %s",
                           (new_id, self.config.name, self.cursor_id))
            if cursor.rowcount != 1:
                raise RuntimeError(f"cursor {self.config.name!r} moved under this relay: "
                                   "another relay is running (lock lost?)")
        self.cursor_id = new_id

    def _next_rows(self) -> List[Row]:
        """The rows after the cursor that may be sent now, in id order: up to the first
        gap that might still fill."""
        rows = self._query(f"SELECT id, sender_id, data FROM {TABLE} WHERE id > %s "
                           "ORDER BY id LIMIT %s", (self.cursor_id, self.config.batch_size))
        ready: List[Row] = []
        expected = self.cursor_id + 1
        for row in rows:
            if row[0] != expected and not self._gap_closed(expected, row[0]):
                break
            ready.append(row)
            expected = row[0] + 1
        if ready and self.gap and self.gap.first_missing <= ready[-1][0]:
            self.gap = None
        return ready

    def _gap_closed(self, first_missing: int, next_id: int) -> bool:
        """Whether ids first_missing..next_id-1 can be given up: old enough, and every
        transaction that was writing when the gap was first seen has ended."""
        if self.gap is None or self.gap.first_missing != first_missing:
            self.gap = Gap(first_missing, self._writers())
            return False
        now = time.monotonic()
        if now - self.gap.seen < self.config.gap_grace_seconds:
            return False
        still_open = self.gap.writers & self._writers()
        if still_open:
            if now - self.gap.warned >= STALLED_WARNING_SECONDS:
                self.gap.warned = now
                logger.warning(
                    "事件 id %s 缺失，写入它的事务仍未结束 / event id %s is missing and a "
                    "transaction that may hold it is still open after %.0f s (%s): waiting",
                    first_missing, first_missing, now - self.gap.seen, sorted(still_open))
            return False
        missing = (f"{first_missing}" if next_id - 1 == first_missing
                   else f"{first_missing}-{next_id - 1}")
        logger.info("跳过永久空缺 / skipping ids %s: never committed (rolled back)", missing)
        self.gap = None
        return True

    # RabbitMQ --------------------------------------------------------------------------

    async def _connect_rabbitmq(self):
        import aio_pika

        s = self.config.env
        connection = await aio_pika.connect(
            host=s["RABBITMQ_HOST"], port=int(s["RABBITMQ_PORT"]),
            login=s["RABBITMQ_USERNAME"], password=s["RABBITMQ_PASSWORD"],
            timeout=TIMEOUT_SECONDS,
        )
        channel = await connection.channel(publisher_confirms=True)
        # Declared as PikaEventBroker declares them, so that both may coexist.
        exchange = await channel.declare_exchange(
            self.config.exchange, type=aio_pika.ExchangeType.FANOUT)
        for name in self.config.queues:
            queue = await channel.declare_queue(name, durable=True)
            await queue.bind(exchange, "")
        return connection, exchange

    def _message(self, row: Row):
        import aio_pika

        return aio_pika.Message(
            rasa_body(row[1], row[2]),
            app_id=self.config.app_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=f"{self.config.message_id_prefix}:{row[0]}",
        )

    async def _publish(self, exchange, rows: List[Row]) -> None:
        """Publish and wait for every confirm. Each conversation's rows go one after the
        other (each waits for the previous one's confirm), conversations in parallel."""
        by_sender: Dict[str, List[Row]] = {}
        for row in rows:
            by_sender.setdefault(row[1], []).append(row)

        async def publish_in_order(sender_rows: List[Row]) -> None:
            for row in sender_rows:
                await exchange.publish(self._message(row), "", timeout=30)

        await asyncio.gather(*(publish_in_order(r) for r in by_sender.values()))

    # The loop --------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    async def _take_lock(self) -> bool:
        waiting_said = False
        while not self.stopping.is_set():
            if self._query("SELECT pg_try_advisory_lock(%s)", (self.config.lock_key,))[0][0]:
                logger.info("已取得中继锁 / took the relay lock (%s)", self.config.name)
                return True
            if not waiting_said:
                logger.info("另一个中继正在运行，等待接管 / another relay holds the lock "
                            "for %r: waiting to take over", self.config.name)
                waiting_said = True
            await self._sleep(LOCK_RETRY_SECONDS)
        return False

    async def _wait_for_table(self) -> bool:
        schema = self.config.schema
        if schema and not self._query(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", (schema,)):
            raise RuntimeError(f"PostgreSQL 模式 {schema} 不存在 / schema {schema!r} "
                               "(POSTGRESQL_SCHEMA) does not exist")
        said = False
        while not self._table_exists():
            if not said:
                logger.info("表 %s 尚不存在（Rasa 首次启动时创建）/ table %s does not exist "
                            "yet (Rasa creates it on first start): waiting", TABLE, TABLE)
                said = True
            await self._sleep(LOCK_RETRY_SECONDS)
            if self.stopping.is_set():
                return False
        return True

    async def session(self) -> None:
        """One connection to each service: lock, then relay until told to stop."""
        self.db = connect_postgres(self.config)
        connection = None
        try:
            if not await self._take_lock() or not await self._wait_for_table():
                return
            self.cursor_id = self._load_cursor()
            self.gap = None
            connection, exchange = await self._connect_rabbitmq()
            logger.info("中继开始 / relaying %s after id %s to exchange %r (queues %s)",
                        self.config.message_id_prefix, self.cursor_id, self.config.exchange,
                        ", ".join(self.config.queues))
            while not self.stopping.is_set():
                rows = self._next_rows()
                if not rows:
                    await self._sleep(self.config.poll_seconds)
                    continue
                # A stop request now waits for this batch: published, confirmed, cursor.
                await self._publish(exchange, rows)
                if self.config.pause_after_confirm:
                    await asyncio.sleep(self.config.pause_after_confirm)
                self._save_cursor(rows[-1][0])
                self.published += len(rows)
                logger.debug("relayed ids %s-%s", rows[0][0], rows[-1][0])
        finally:
            if connection is not None:
                await connection.close()
            self.db.close()  # ends the session: releases the advisory lock

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        while not self.stopping.is_set():
            try:
                await self.session()
            except Exception as error:  # noqa: BLE001 - reconnect and carry on
                reason = " ".join(str(error).split()) or type(error).__name__
                logger.error("中继中断，%.0f 秒后重连 / relay interrupted, reconnecting in "
                             "%.0f s: %s", RETRY_SECONDS, RETRY_SECONDS, reason)
                await self._sleep(RETRY_SECONDS)
        logger.info("中继已停止 / relay stopped after %s events; cursor at %s",
                    self.published, self.cursor_id)
        return 0


def main() -> int:
    logging.basicConfig(level=os.environ.get("RELAY_LOG_LEVEL", "INFO"),
                        format="%(asctime)s event_relay %(levelname)s %(message)s")
    try:
        config = Config()
    except ValueError as error:
        print(f"✗ 配置错误 / configuration error: {error}", file=sys.stderr)
        return 2
    needed = "事件中继需要 PostgreSQL 和 RabbitMQ / the event relay needs PostgreSQL and RabbitMQ running"
    if report_missing(problems(services=("postgresql", "rabbitmq")), needed):
        return 2
    return asyncio.run(Relay(config).run())


if __name__ == "__main__":
    sys.exit(main())
