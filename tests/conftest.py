"""Shared fixtures for the action and component tests."""

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from core import assessment_records
from core.settings import settings

ROOT = Path(__file__).resolve().parents[1]


UNIT_TEST_DIRS = (ROOT / "tests" / "actions", ROOT / "tests" / "core", ROOT / "tests" / "server" / "nlu")


@pytest.fixture(autouse=True)
def fresh_settings():
    """Each test reads the environment it set up (core/settings.py reads it once per process)."""
    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture(autouse=True)
def default_bank_env(request, monkeypatch):
    """Unit tests start with the default bank, whatever the shell exported.

    Other test trees (e.g. end-to-end) keep the environment they were started with.
    """
    if any(Path(request.path).is_relative_to(d) for d in UNIT_TEST_DIRS):
        monkeypatch.delenv("BANK_NAME", raising=False)
        monkeypatch.delenv("BANK_HOTLINE", raising=False)
        monkeypatch.delenv("BANK_DOMAIN", raising=False)
        monkeypatch.delenv("BANK_NAME_EN", raising=False)
        # Assessment actions record a row (core/assessment_records.py): not in ./rasa.db.
        monkeypatch.setenv("HANDOFF_DB_URL", f"sqlite:///{request.getfixturevalue('tmp_path')}/records.db")
    yield
    # Rows are written by a background thread: none of them may outlive its test.
    assessment_records.wait_for_writes()


@pytest.fixture
def make_tracker():
    """Factory for a rasa_sdk Tracker whose latest message is `text` classified as `intent`.

    `entities` holds entity dicts or (entity, value) pairs; `events` the conversation
    so far (see user_event).
    """

    def make(text, intent, entities=(), slots=None, sender="test-user", events=()):
        latest_message = {
            "text": text,
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [
                e if isinstance(e, dict) else {"entity": e[0], "value": e[1]}
                for e in entities
            ],
        }
        return Tracker(
            sender_id=sender,
            slots=dict(slots or {}),
            latest_message=latest_message,
            events=list(events),
            paused=False,
            followup_action=None,
            active_loop={},
            latest_action_name="action_listen",
        )

    return make


def run(action, dispatcher, tracker, domain):
    """An action's run() as the action server calls it; returns its events."""
    return asyncio.run(action.run(dispatcher, tracker, domain))


def only_message(dispatcher):
    assert len(dispatcher.messages) == 1
    return dispatcher.messages[0]


def user_event(text, intent, confidence=1.0, entities=()):
    """A customer message as the tracker's events hold it."""
    return {
        "event": "user",
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [{"entity": name} for name in entities],
        },
    }


@pytest.fixture
def dispatcher():
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def domain():
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
