"""反诈助手 custom actions: thin Rasa wiring over core/ (the catalog, the rules, the replies).

assessment.py  is it a scam: the assessment, the clarifying questions, money already gone
checks.py      a phone number or a link the customer was given
conversation.py session start, plain sentences, follow-up questions
handoff.py     a person to talk to, and the ATM entry
"""

# The action server's secret check registers itself with rasa_sdk when imported; importing
# it here means any `--actions actions...` gets it, never an unprotected server.
from actions import server_security  # noqa: F401
from core.settings import settings

# Read once, here, at start-up: a bad setting stops the action server, not a customer's turn.
settings()
