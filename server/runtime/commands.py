"""A customer's "/intent{...}" is text unless the assistant offered it (core/commands.py).

Rasa unpacks a message starting with "/" into an intent and entities in the last step of
its NLU graph (RegexMessageHandler), after our normaliser, so "/restart", "／restart"
and "\\u200b/restart" all ran Rasa's restart, and `/human_handoff{"atm_id": "..."}` put
any value into a slot. Two patches, installed by plugin.py:

- MessageProcessor.parse_message, which has the conversation's tracker at hand (the
  shared state, so every profile and every replica sees the same latest reply): a text
  that reads as a command is unpacked only when core.commands.allowed_command says so.
  A refused one is parsed as text, its "/" turned into "／" (the UserUttered event
  keeps the text as the customer typed it). The payload of a button of an older reply
  (the widget keeps old replies on screen) is parsed as that button's title, the words
  the customer saw: "我已经转账了" is understood as text is;
- RegexMessageHandler.process unpacks only inside such an allowed parse: the normaliser
  turns "／" back into "/", and a parse that does not come through parse_message (none
  should) unpacks nothing.
"""

import contextvars
import copy
import logging
from typing import Any, Dict, FrozenSet, List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.nlu.training_data.message import Message

from core import commands

logger = logging.getLogger(__name__)

_parse_message = MessageProcessor.parse_message
_unpack_regex_messages = RegexMessageHandler.process
_unpack_allowed = contextvars.ContextVar("unpack_allowed", default=False)
_installed = False


def _buttons(event: Any) -> List[Dict[str, Any]]:
    buttons = (event.data or {}).get("buttons") or ()
    return [b for b in buttons if isinstance(b, dict) and isinstance(b.get("payload"), str)]


def earlier_title(tracker: Optional[Any], payload: str) -> Optional[str]:
    """The title of the latest button with this payload anywhere in the conversation
    the server holds, or None."""
    for event in reversed(getattr(tracker, "events", None) or ()):
        if isinstance(event, BotUttered):
            for button in _buttons(event):
                if button["payload"] == payload and isinstance(button.get("title"), str):
                    return button["title"]
    return None


def offered_payloads(tracker: Optional[Any]) -> FrozenSet[str]:
    """The button payloads of the assistant's latest reply: its messages since the
    customer's last message (none without a tracker)."""
    payloads = set()
    for event in reversed(getattr(tracker, "events", None) or ()):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            payloads.update(button["payload"] for button in _buttons(event))
    return frozenset(payloads)


async def parse_message(
    self: MessageProcessor,
    message: UserMessage,
    tracker: Optional[Any] = None,
    only_output_properties: bool = True,
) -> Dict[str, Any]:
    """MessageProcessor.parse_message, unpacking "/intent{...}" only when allowed."""
    text = message.text
    if not commands.reads_as_command(text):
        return await _parse_message(self, message, tracker, only_output_properties)
    if commands.allowed_command(text, offered_payloads(tracker)):
        allowed = _unpack_allowed.set(True)
        try:
            return await _parse_message(self, message, tracker, only_output_properties)
        finally:
            _unpack_allowed.reset(allowed)
    logger.debug("a command the assistant did not offer, read as text")
    as_text = copy.copy(message)
    as_text.text = commands.as_text(earlier_title(tracker, text) or text)
    return await _parse_message(self, as_text, tracker, only_output_properties)


def unpack_if_allowed(
    self: RegexMessageHandler, messages: List[Message], domain: Optional[Any] = None
) -> List[Message]:
    """RegexMessageHandler.process inside an allowed parse; otherwise the NLU's result."""
    if not _unpack_allowed.get():
        return messages
    return _unpack_regex_messages(self, messages, domain)


def install() -> None:
    global _installed
    if not _installed:
        MessageProcessor.parse_message = parse_message
        RegexMessageHandler.process = unpack_if_allowed
        _installed = True
