"""scripts/run_scaled.sh (`make run-scaled`): says which service is missing; starts the
action server and both replicas sharing one conversation store; Ctrl-C stops them all."""

import asyncio
import os
import signal
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy.check_services import connect_postgres, connect_rabbitmq, problems
from tests.e2e.servers import MODEL, REPO, answers, free_port, say_over_rest

pytestmark = pytest.mark.scale


def test_a_missing_service_is_named_with_its_variables_and_nothing_starts():
    closed = str(free_port())  # nothing listens there
    env = {**os.environ, "DB_PORT": closed, "REDIS_PORT": closed, "MODEL": str(MODEL)}
    result = subprocess.run(["scripts/run_scaled.sh"], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "PostgreSQL" in result.stderr and "DB_HOST, DB_PORT" in result.stderr
    assert "Redis" in result.stderr and "REDIS_HOST, REDIS_PORT" in result.stderr
    assert "RabbitMQ" not in result.stderr  # that one is up
    assert "replica" not in result.stdout  # nothing was started


def test_starts_the_profile_replicas_share_conversations_and_ctrl_c_stops_all(tmp_path):
    missing = problems()
    if missing:
        pytest.fail("\n".join(missing))
    run = uuid.uuid4().hex[:10]
    ports = [free_port(), free_port()]
    action_port = free_port()
    env = {**os.environ, "RASA_PORTS": " ".join(map(str, ports)),
           "ACTION_PORT": str(action_port), "MODEL": str(MODEL),
           "RABBITMQ_EXCHANGE": f"fanzha-script-{run}", "RABBITMQ_QUEUE": f"fanzha-script-{run}",
           "REDIS_KEY_PREFIX": f"script{run}"}
    script = subprocess.Popen(
        ["scripts/run_scaled.sh"], cwd=REPO, env=env, start_new_session=True,
        stdout=(tmp_path / "run.log").open("wb"), stderr=subprocess.STDOUT,
    )
    sender = f"script-{run}"
    try:
        deadline = time.monotonic() + 240
        while not all(answers(f"http://127.0.0.1:{p}/webhooks/rest/") for p in ports):
            log = (tmp_path / "run.log").read_text(errors="replace")[-3000:]
            assert script.poll() is None and time.monotonic() < deadline, log
            time.sleep(1)
        # Started on one replica, continued on the other: the slot is in PostgreSQL.
        first = say_over_rest(f"http://127.0.0.1:{ports[0]}", sender, "税务局打电话说我有一笔退税，让我去ATM上操作")
        assert any(m.get("custom", {}).get("scam_type") == "tax_refund" for m in first)
        assert "冒充税务局退税诈骗" in say_over_rest(f"http://127.0.0.1:{ports[1]}", sender, "为什么说是诈骗")[0]["text"]
        _commands_and_locks_across_replicas(ports, sender)

        os.killpg(script.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's group
        assert script.wait(timeout=60) == 130
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        db = connect_postgres()
        with db.cursor() as cursor:
            cursor.execute("DELETE FROM events WHERE sender_id = %s", (sender,))
        db.close()

        async def delete_queue_and_exchange() -> None:
            async with await connect_rabbitmq() as connection:
                channel = await connection.channel()
                await channel.queue_delete(env["RABBITMQ_QUEUE"])
                await channel.exchange_delete(env["RABBITMQ_EXCHANGE"])

        asyncio.run(delete_queue_and_exchange())
    for port in [*ports, action_port]:
        assert not answers(f"http://127.0.0.1:{port}/")


def _commands_and_locks_across_replicas(ports, sender):
    """Issue 15 on two replicas: the latest reply's buttons are read from the shared
    conversation, typed commands are text on either replica, and messages of one
    conversation sent at once to both replicas follow each other promptly (Redis lock)."""
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    assessment = say_over_rest(urls[0], sender, "公安说我涉嫌洗钱，要把钱转到安全账户")
    assert {"title": "我已经转账了", "payload": "/money_lost"} in assessment[0]["buttons"]
    pressed = say_over_rest(urls[1], sender, "/money_lost")  # offered on the other replica
    assert any(m.get("custom", {}).get("type") == "emergency" for m in pressed)
    restart = say_over_rest(urls[0], sender, "/restart")
    assert restart and not any("出了点问题" in (m.get("text") or "") for m in restart)
    assert "冒充公检法" in say_over_rest(urls[1], sender, "为什么说是诈骗")[0]["text"]

    links = [f"https://icbc-refund-{c}{c}.top/login" for c in "abcdefghij"]
    started = time.monotonic()
    with ThreadPoolExecutor(len(links)) as pool:
        replies = list(pool.map(
            lambda i: say_over_rest(urls[i % 2], sender, f"这个链接安全吗 {links[i]}"), range(len(links))))
    seconds = time.monotonic() - started
    for link, reply in zip(links, replies):
        assert [m["custom"]["url"] for m in reply if m.get("custom", {}).get("type") == "link_check"] == [link]
    assert seconds < 5, seconds  # one a second with Rasa's own poll
