"""No silence: when the assistant says nothing to a real message, or not in time, the
customer gets the general safe advice with the official numbers.

It happens when the action server is down or slow (Rasa logs the failed action and
listens), or Rasa itself fails; the wording is core/replies.py's safe_reply, from
knowledge/replies.yml and the catalog's general advice.
"""

from functools import lru_cache

from core import replies
from core.language import SIMPLIFIED
from core.settings import Bank


@lru_cache(maxsize=16)
def _safe_reply(bank: Bank, language: str) -> str:
    return replies.safe_reply(bank, language)


def safe_reply_text(bank: Bank, language: str = SIMPLIFIED) -> str:
    """The safe reply in `language` (the customer's, core/language.py)."""
    return replies.safe_reply(bank) if language == SIMPLIFIED else _safe_reply(bank, language)


def needs_safe_reply(timed_out: bool, said_anything: bool, text: str) -> bool:
    """Late, or silent to a message with words in it (an empty one may stay unanswered)."""
    return timed_out or (not said_anything and bool(text.strip()))
