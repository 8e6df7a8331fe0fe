"""Which customer texts may run as an intent: the rule, without Rasa.

Rasa reads a message starting with "/" as an intent with entities ("/human_handoff",
`/atm_entry{"atm_id": "ATM-001"}`), skipping the classifier. That is how buttons work,
and also how a customer could type any intent with any entity values (/restart, or an
ATM id of their choosing). So a text that Rasa would read that way runs as an intent only
when it is exactly

- the payload of a button the assistant offered in its latest reply in this
  conversation (a button the customer tapped, or WeChat's "1" for its first option), or
- the widget's ATM entry, `/atm_entry{"atm_id": "<id>"}` with a well-formed id (the
  action server then keeps the id only if it is on the bank's ATM list, core/atms.py).

Anything else is text like any other message: `as_text` gives the form the classifier
is given. The Rasa server applies the rule in server/runtime/commands.py.
"""

import json
from typing import Collection, Optional

from core.atms import ATM_ID_PATTERN
from core.text import MAX_NLU_CHARS, normalise

COMMAND_PREFIX = "/"
# What a refused text's leading "/" becomes before the classifier: it reads the same to
# a person, and the normaliser turns it back into "/" for the features.
FULL_WIDTH_SLASH = "／"
ATM_ENTRY = "/atm_entry"
ATM_ENTRY_KEY = "atm_id"


def reads_as_command(text: Optional[str]) -> bool:
    """Whether Rasa would read `text` as "/intent{...}": the NLU normalises the text
    (full-width "／", zero-width characters and leading blanks included) before it looks."""
    if not text:
        return False
    head = text[: MAX_NLU_CHARS * 2]  # all that normalise() reads
    if COMMAND_PREFIX not in head and FULL_WIDTH_SLASH not in head:
        return False  # most messages: no need to normalise them here
    return normalise(head).startswith(COMMAND_PREFIX)


def atm_entry_id(text: Optional[str]) -> Optional[str]:
    """The ATM id of the widget's ATM entry `/atm_entry{"atm_id": "<id>"}`, else None.

    Exactly that: one key, a string value of the QR codes' id pattern, nothing else."""
    if not text or not text.startswith(ATM_ENTRY + "{"):
        return None
    try:
        entities = json.loads(text[len(ATM_ENTRY):])
    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
        return None
    if not isinstance(entities, dict) or set(entities) != {ATM_ENTRY_KEY}:
        return None
    atm_id = entities[ATM_ENTRY_KEY]
    if isinstance(atm_id, str) and ATM_ID_PATTERN.fullmatch(atm_id):
        return atm_id
    return None


def allowed_command(text: Optional[str], offered_payloads: Collection[str]) -> bool:
    """Whether `text` may run as the intent it spells (see the module doc)."""
    if not text:
        return False
    return text in offered_payloads or atm_entry_id(text) is not None


def as_text(text: str) -> str:
    """`text` as the classifier may see it: a refused command's leading "/" (however it
    was typed) becomes "／", so Rasa does not unpack it; other texts are unchanged."""
    if not reads_as_command(text):
        return text
    return FULL_WIDTH_SLASH + normalise(text)[len(COMMAND_PREFIX):]
