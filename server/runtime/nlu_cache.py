"""The NLU result of a message text seen before, without running the model again.

Customers send the same short texts over and over: the clarifying form's answers
(公检法, 不知道, 还没有), follow-ups (为什么说是诈骗, 怎么办), thanks. The NLU graph is
a pure function of the text for a given model (the result does not depend on the sender,
the message id or metadata; tests/server/runtime/test_nlu_cache.py checks it against the
model), and running it is about half of the server's work per turn. First messages,
each customer's own story, are rarely repeated and run the model as before.

`install()` wraps MessageProcessor._parse_message_with_graph; server/runtime/plugin.py calls it.
"""

import copy
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

ENTRIES = 4096
# Longer texts are stories and pasted messages: unlikely to come again, so not kept.
LONGEST_CACHED_TEXT = 24

_parse_with_graph = MessageProcessor._parse_message_with_graph
_results: "OrderedDict[Tuple[Any, str, bool], Dict[str, Any]]" = OrderedDict()
_installed = False


def parse_with_cache(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[Any] = None,
    only_output_properties: bool = True,
) -> Dict[str, Any]:
    """MessageProcessor._parse_message_with_graph, remembering short texts' results."""
    text = message.text
    if not isinstance(text, str) or len(text) > LONGEST_CACHED_TEXT:
        return _parse_with_graph(self, message, tracker, only_output_properties)
    # The model's id: a processor with another model must not reuse these results.
    key = (self.model_metadata.model_id, text, only_output_properties)
    cached = _results.get(key)
    if cached is None:
        cached = _parse_with_graph(self, message, tracker, only_output_properties)
        _results[key] = copy.deepcopy(cached)
        while len(_results) > ENTRIES:
            _results.popitem(last=False)
        return cached
    _results.move_to_end(key)
    # A copy: the processor and the policies may change what they are given.
    return copy.deepcopy(cached)


def install() -> None:
    global _installed
    if not _installed:
        MessageProcessor._parse_message_with_graph = parse_with_cache
        _installed = True
