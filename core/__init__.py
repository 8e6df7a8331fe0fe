"""What both servers and the tools share: pure functions over the data in knowledge/.

No Rasa, no Sanic, no network: the Rasa server (server/), the action server (actions/)
and the command-line tools each import from here, never from one another.
"""

from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
RULES = KNOWLEDGE / "rules"
