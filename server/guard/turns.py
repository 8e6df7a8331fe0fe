"""The turn, as every public channel runs it (TurnGuard.answer):

  - card numbers, ID numbers, passwords and codes are masked (core/masking.py) before
    the channel builds its UserMessage, so Rasa's tracker store, event broker and logs
    never see them; the kinds masked go into the message metadata under "masked", and the
    customer is told once that they were masked;
  - no silence: a turn that says nothing, or is slower than ASSISTANT_REPLY_TIMEOUT
    seconds, gets the safe reply (safe_reply.py). A slow turn goes on in the background,
    so its events still reach the tracker store;
  - the safe reply and the privacy warning are in the customer's language: the message's
    script, else the last one this guard heard from the conversation (core/language.py);
  - at most MAX_TURNS_AT_ONCE turns (default 3) run at once in the process, whatever the
    channel; the others wait their turn in order. Turns that share one busy core all
    finish late: at concurrency 8, p99 was 172-204 ms with every turn at once and
    128-132 ms with three (bench/load.py). Waiting counts toward the reply timeout.

No Rasa imports: the channel passes a callback that builds and handles its UserMessage.
"""

import asyncio
import logging
import weakref
from typing import Any, Awaitable, Callable, Dict, FrozenSet, List, Optional, Set

from core.directory import official_directory
from core.language import SIMPLIFIED, LanguageMemory, from_tag
from core.masking import mask, mask_values
from core.settings import Bank, Settings, settings
from core.wording import say
from server.guard.safe_reply import needs_safe_reply, safe_reply_text

logger = logging.getLogger(__name__)

MASKED_METADATA_KEY = "masked"


def privacy_warning(language: str = SIMPLIFIED) -> str:
    """What the customer is told when something was masked (read when said)."""
    return say("privacy_warning", language=language)


# One set of slots per event loop and size, shared by every channel's guard.
_turn_slots: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _slots(size: int) -> asyncio.Semaphore:
    per_size = _turn_slots.setdefault(asyncio.get_running_loop(), {})
    if size not in per_size:
        per_size[size] = asyncio.Semaphore(size)
    return per_size[size]


# ask(masked text, metadata) builds the channel's UserMessage and lets Rasa handle it;
# the assistant's messages arrive in the `replies` list passed alongside.
Ask = Callable[[str, Optional[Dict[str, Any]]], Awaitable[Any]]


class TurnGuard:
    """Masks what comes in and makes sure something safe goes out; see the module doc."""

    def __init__(self, bank: Bank, reply_timeout: float, turns_at_once: int = 3) -> None:
        self.bank = bank
        self.safe_reply = safe_reply_text(bank)
        # Each conversation's last language, for the messages the guard says itself.
        self.languages = LanguageMemory()
        self.reply_timeout = reply_timeout
        self.turns_at_once = turns_at_once
        # Official numbers are what customers ask about: never masked as a code.
        self.keep: FrozenSet[str] = frozenset(official_directory(bank))
        self._unfinished: Set[asyncio.Future] = set()  # held so they are not collected

    @classmethod
    def from_settings(cls, config: Optional[Settings] = None) -> "TurnGuard":
        """The bank, ASSISTANT_REPLY_TIMEOUT and MAX_TURNS_AT_ONCE of this process."""
        config = config or settings()
        return cls(config.bank, config.reply_timeout, config.turns_at_once)

    async def answer(
        self,
        ask: Ask,
        text: str,
        metadata: Optional[Dict[str, Any]],
        replies: List[Dict[str, Any]],
        recipient_id: str,
    ) -> List[Dict[str, Any]]:
        """The messages to send back for `text`: the assistant's, the safe reply when it
        had none (or not in time), and the privacy warning when something was masked."""
        hint = from_tag(metadata.get("language")) if isinstance(metadata, dict) else None
        language = self.languages.hear(recipient_id, text, hint)
        masked = mask(text, self.keep)
        metadata, kinds_in_metadata = mask_values(metadata, self.keep)
        kinds = list(dict.fromkeys(masked.kinds + kinds_in_metadata))
        if kinds:
            metadata = {**(metadata or {}), MASKED_METADATA_KEY: kinds}
        already = len(replies)
        timed_out = await self._run(ask(masked.text, metadata), recipient_id)
        answer = list(replies)  # a late turn may still append to `replies`; not to this
        if needs_safe_reply(timed_out, len(answer) > already, text):
            answer.append({"recipient_id": recipient_id,
                           "text": safe_reply_text(self.bank, language)})
        if kinds:
            answer.append({"recipient_id": recipient_id, "text": privacy_warning(language)})
        return answer

    async def _run(self, turn: Awaitable[Any], recipient_id: str) -> bool:
        """Runs the turn; True when it outlasted the timeout (it then goes on alone)."""
        task = asyncio.ensure_future(self._in_a_slot(turn))
        try:
            # shield: on timeout (or the client hanging up) Rasa still finishes the turn
            # and saves it; cancelling it half-way could lose the conversation's events.
            await asyncio.wait_for(asyncio.shield(task), self.reply_timeout)
        except asyncio.TimeoutError:
            logger.warning(
                "no answer for %s within %ss: safe reply sent, the turn goes on",
                recipient_id, self.reply_timeout,
            )
            self._let_finish(task)
            return True
        except asyncio.CancelledError:  # the client went away; the turn is still saved
            self._let_finish(task)
            raise
        except Exception:  # whatever failed inside Rasa, the customer gets an answer
            logger.exception("the assistant failed on a message for %s", recipient_id)
        return False

    async def _in_a_slot(self, turn: Awaitable[Any]) -> Any:
        async with _slots(self.turns_at_once):
            return await turn

    def _let_finish(self, task: asyncio.Future) -> None:
        self._unfinished.add(task)
        task.add_done_callback(self._finished_late)

    def _finished_late(self, task: asyncio.Future) -> None:
        self._unfinished.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("a late turn failed: %r", task.exception())
