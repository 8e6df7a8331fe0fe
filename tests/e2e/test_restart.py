"""Restarting the Rasa server mid-conversation loses nothing.

The conversation lives in the tracker store, not in the Rasa process: after Rasa is
killed (SIGKILL, so nothing relies on a clean shutdown) and started again, the next turn
continues where the conversation was. Once with the embedded SQLite store (endpoints.yml)
and once with PostgreSQL (the tracker store of endpoints.scale.yml). The action server
keeps running, as it would when only Rasa restarts.
"""

import json
import os
import secrets
import signal
import sqlite3
import subprocess
import uuid
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from deploy.check_services import connect_postgres, problems, settings
from tests.e2e.servers import (
    MODEL, RASA, RASA_SERVER, TRACKER_STORE, _spawn, _wait_until_up, free_port, say_over_rest, stop,
)

# The tracker_store section of endpoints.scale.yml (PostgreSQL, settings from the environment).
POSTGRES_STORE = """tracker_store:
  type: SQL
  dialect: postgresql
  url: ${DB_HOST}
  port: ${DB_PORT}
  db: ${DB_DATABASE}
  username: ${DB_USER}
  password: ${DB_PASSWORD}
"""


def sqlite_store(workdir: Path) -> str:
    return f'tracker_store:\n  type: {TRACKER_STORE}\n  dialect: "sqlite"\n  db: "{workdir / "rasa.db"}"\n'


class RestartableAssistant:
    """The action server, and a Rasa server that can be killed and started again."""

    def __init__(self, workdir: Path, store: str):
        self.workdir = workdir
        self.store = store
        self.port = free_port()
        action_port = free_port()
        self.endpoints = workdir / "endpoints.yml"
        self.endpoints.write_text(
            f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
            "  headers:\n    Authorization: Bearer ${ACTION_SERVER_SECRET}\n"  # unquoted
            + (POSTGRES_STORE if store == "postgresql" else sqlite_store(workdir))
        )
        self.env = {**settings(), "RASA_TELEMETRY_ENABLED": "false",
                    "ENDPOINTS": str(self.endpoints),
                    "ACTION_SERVER_SECRET": secrets.token_urlsafe(32)}
        self.actions = _spawn(
            [RASA, "run", "actions", "--actions", "actions", "--port", str(action_port)],
            workdir / "actions.log", self.env,
        )
        _wait_until_up(f"http://127.0.0.1:{action_port}/health", self.actions,
                       workdir / "actions.log")
        self.rasa: Optional[subprocess.Popen] = None
        self.starts = 0

    def start_rasa(self) -> None:
        self.starts += 1
        log = self.workdir / f"rasa-{self.starts}.log"
        self.rasa = _spawn(
            [*RASA_SERVER, "run", "--model", str(MODEL), "--port", str(self.port),
             "--endpoints", str(self.endpoints), "--credentials", "credentials.yml"],
            log, self.env,
        )
        _wait_until_up(f"http://127.0.0.1:{self.port}/webhooks/rest/", self.rasa, log)

    def kill_rasa(self) -> None:
        os.killpg(self.rasa.pid, signal.SIGKILL)
        self.rasa.wait()

    def say(self, sender: str, message: str) -> List[Dict]:
        return say_over_rest(f"http://127.0.0.1:{self.port}", sender, message)

    def stored_events(self, sender: str) -> List[Dict]:
        query = "SELECT data FROM events WHERE sender_id = {} ORDER BY id"
        if self.store == "sqlite":
            with sqlite3.connect(self.workdir / "rasa.db") as db:
                rows = db.execute(query.format("?"), (sender,)).fetchall()
        else:
            with closing(connect_postgres()) as db, db.cursor() as cursor:
                cursor.execute(query.format("%s"), (sender,))
                rows = cursor.fetchall()
        return [json.loads(data) for (data,) in rows]

    def stop(self) -> None:
        if self.rasa:
            stop(self.rasa)
        stop(self.actions)


@contextmanager
def restartable_assistant(workdir: Path, store: str) -> Iterator[RestartableAssistant]:
    assistant = RestartableAssistant(workdir, store)
    try:
        assistant.start_rasa()
        yield assistant
    finally:
        assistant.stop()


def _payload(messages: List[Dict]) -> Dict:
    return next(m["custom"] for m in messages if "custom" in m)


# The PostgreSQL case needs the service, like the scale-out tests: same marker.
@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgresql", marks=pytest.mark.scale)])
def test_a_restart_mid_conversation_loses_nothing(store, tmp_path):
    if store == "postgresql":
        missing = problems(services=["postgresql"])
        if missing:
            pytest.fail("\n".join(missing))
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` (make test does it for you)")
    run = uuid.uuid4().hex[:10]
    assessed, in_form = f"restart-{run}-assessed", f"restart-{run}-form"
    said = {assessed: [], in_form: []}

    def say(sender: str, text: str) -> List[Dict]:
        said[sender].append(text)
        return server.say(sender, text)

    try:
        with restartable_assistant(tmp_path, store) as server:
            assessment = say(assessed, "税务局打电话说我有一笔退税，让我去ATM上操作")
            assert _payload(assessment)["scam_type"] == "tax_refund"
            assert "对方说自己是哪里的" in say(in_form, "刚才接了个奇怪的电话，我有点怕")[0]["text"]
            assert "对方让您做什么" in say(in_form, "他说他是派出所的")[0]["text"]

            server.kill_rasa()
            server.start_rasa()

            # The slot scam_type survived: the follow-up answers for the type named.
            assert "冒充税务局退税诈骗" in say(assessed, "为什么说是诈骗")[0]["text"]
            # The form survived: the third question comes next, then the assessment
            # built from the answers given before the restart (派出所 -> police).
            assert "已经给出去了吗" in say(in_form, "不知道")[0]["text"]
            final = _payload(say(in_form, "还没有"))
            assert final["type"] == "scam_assessment"
            assert final["scam_type"] == "impersonate_police"

            # The same conversation, not a new one: one session, every turn once, in order.
            for sender, texts in said.items():
                events = server.stored_events(sender)
                assert [e["text"] for e in events if e["event"] == "user"] == texts
                assert [e["event"] for e in events].count("session_started") == 1
    finally:
        if store == "postgresql":
            with closing(connect_postgres()) as db, db.cursor() as cursor:
                cursor.execute("DELETE FROM events WHERE sender_id LIKE %s",
                               (f"restart-{run}-%",))
