"""The one place that installs the Rasa server's speed-ups (docs/performance.md) and its
patches of Rasa's behaviour.

`install()` is called once by the server's entry point (server/__main__.py) before Rasa
starts (before the model is loaded: its graph keeps the methods it found), in every profile:

- action_calls.py  custom-action responses checked without re-validating the schema, calls
                   on a kept connection;
- nlu_cache.py     the NLU result of a short text seen before;
- graph_runner.py  the model graph run without dask's scheduler;
- commands.py      a customer's "/intent{...}" is text unless the assistant offered it;
- lock_store.py    a message waiting for its conversation's lock starts as soon as the
                   lock is free, not at the next one-second poll;
- the start-up objects frozen for the garbage collector at the first turn (below);
- and, not a speed-up, core/http_framing.py's rules in front of Sanic's HTTP/1.1 parser
  (one malformed request must not freeze the server).

The tracker store (tracker_store.py) is named in the endpoints file like any other.
"""

import gc
import logging
from typing import Any

from rasa.core.agent import Agent
from sanic.http import Http

from core import http_framing
from server.runtime import action_calls, commands, graph_runner, lock_store, nlu_cache

logger = logging.getLogger(__name__)

_installed = False
_frozen = False


def _freeze_startup_objects_once() -> None:
    """At the first turn, when the model is loaded: the garbage collector stops walking
    the millions of objects of Rasa, TensorFlow and the model on every full collection,
    which showed as latency spikes under load (p99 at concurrency 8: about 200 ms before,
    170 ms after, bench/perf.py)."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True


def install() -> None:
    global _installed
    if _installed:
        return
    http_framing.install(Http)
    action_calls.install()
    nlu_cache.install()
    graph_runner.install()
    commands.install()
    lock_store.install()
    handle_message = Agent.handle_message

    async def handle_message_after_freezing(self: Agent, message: Any) -> Any:
        _freeze_startup_objects_once()
        return await handle_message(self, message)

    Agent.handle_message = handle_message_after_freezing
    _installed = True
    logger.debug("runtime speed-ups installed")


def installed() -> bool:
    return _installed
