"""The one entry that installs the runtime (server/runtime/plugin.py)."""

import asyncio
import gc

from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.lock_store import InMemoryLockStore, RedisLockStore
from rasa.core.processor import MessageProcessor
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler

from server.runtime import action_calls, commands, graph_runner, lock_store, nlu_cache, plugin


def test_install_puts_every_speed_up_in_place_once():
    plugin.install()
    handle_message = Agent.handle_message
    plugin.install()  # a second call changes nothing
    assert Agent.handle_message is handle_message
    assert RemoteAction._validate_action_result is action_calls.validate_action_result
    assert MessageProcessor._parse_message_with_graph is nlu_cache.parse_with_cache
    assert DaskGraphRunner.run is graph_runner.run
    assert MessageProcessor.parse_message is commands.parse_message
    assert RegexMessageHandler.process is commands.unpack_if_allowed
    for store in (InMemoryLockStore, RedisLockStore):
        assert store._acquire_lock is lock_store.acquire_lock
        assert store.cleanup is lock_store.cleanup
    assert plugin.installed()


def test_the_first_turn_freezes_what_start_up_loaded(processor):
    plugin.install()
    agent = Agent()  # its own in-memory tracker and lock stores
    agent.processor = processor

    async def turn():
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        return await agent.handle_message(
            UserMessage("你好", CollectingOutputChannel(), "plugin-freeze")
        )

    asyncio.run(turn())
    assert gc.get_freeze_count() > 0


def test_install_puts_the_framing_rules_in_front_of_sanics_parser():
    from sanic.http import Http

    from core import http_framing

    plugin.install()
    assert Http._framing_installed
    # By name: an app started in this process recompiles them from their source (TouchUp).
    assert Http.http1_request_header.__name__ == http_framing._checked_request_header.__name__
    assert Http.read.__name__ == http_framing._checked_read.__name__
